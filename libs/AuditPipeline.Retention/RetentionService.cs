using AuditPipeline.Access;
using System.Globalization;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity;
using AuditPipeline.Integrity.Evidence;
using AuditPipeline.Integrity.Store;
using Npgsql;
using NpgsqlTypes;

namespace AuditPipeline.Retention;

/// <summary>A retention operation that must not happen, and why.</summary>
public sealed class RetentionRefusedException(string message) : Exception(message);

/// <summary>A legal hold as folded from its retention events.</summary>
public sealed record LegalHold(Guid Id, string? Agent, string? Owner, DateTimeOffset? From, DateTimeOffset? To, string Reason, string CreatedBy, DateTimeOffset CreatedAt)
{
    public string Describe() => string.Join(", ", new[]
    {
        Agent is null ? null : $"agent {Agent}", Owner is null ? null : $"owner {Owner}",
        From is null && To is null ? null : $"recorded {From:yyyy-MM-dd} .. {To:yyyy-MM-dd}",
    }.Where(x => x is not null));

    /// <summary>Whether the hold's time range (open-ended where not given) meets [from, to).</summary>
    public bool Overlaps(DateTimeOffset from, DateTimeOffset to) => !((From is { } f && f >= to) || (To is { } t && t <= from));
}

public sealed record SealedMonth(DateOnly Month, string Segment, string ManifestSha256, long Events, long CheckpointSize, DateTimeOffset SealedAt, string SealedBy, DateTimeOffset? DroppedAt);

/// <summary>
/// Seals closed months into the archive, keeps legal holds, and drops sealed months from the hot
/// store (docs/retention.md). Every operation is appended to the <c>retention log</c> chain.
/// Dropping is the one operation that needs the schema owner's connection, and it refuses unless
/// the month was sealed, its segment verifies offline and matches what was recorded at sealing,
/// and no legal hold covers any of its events.
/// </summary>
public sealed partial class RetentionService(NpgsqlDataSource dataSource, IStreamWriter store, TimeProvider clock)
{
    /// <summary>How long after a month ends it counts as closed (late, clock-skewed appends land first).</summary>
    public static readonly TimeSpan CloseAfter = TimeSpan.FromDays(1);

    /// <param name="progress">Told how far writing the segment is (the export's events).</param>
    public async Task<SealedMonth> SealAsync(DateOnly month, ArchiveLayout archive, BundleExporter exporter, string actor, CancellationToken ct,
        IProgress<ExportProgress>? progress = null)
    {
        var (from, to) = Bounds(month);
        if (to + CloseAfter > clock.GetUtcNow())
        {
            throw new RetentionRefusedException($"{ArchiveLayout.MonthKey(month)} is not closed yet: months can be sealed from {to + CloseAfter:yyyy-MM-dd HH:mm}Z on");
        }
        var sealedMonths = await SealedAsync(ct);
        if (sealedMonths.Any(s => s.Month == month))
        {
            throw new RetentionRefusedException($"{ArchiveLayout.MonthKey(month)} is already sealed");
        }
        var after = sealedMonths.Count == 0 ? DateTimeOffset.MinValue : Bounds(sealedMonths[^1].Month).To;
        if (sealedMonths.Count > 0 && sealedMonths[^1].Month > month)
        {
            throw new RetentionRefusedException($"months are sealed in order; {ArchiveLayout.MonthKey(sealedMonths[^1].Month)} is sealed already");
        }
        await using (var cmd = dataSource.CreateCommand(RetentionSql.UnsealedBefore))
        {
            cmd.Parameters.AddWithValue("after", after);
            cmd.Parameters.AddWithValue("from", from);
            if (await cmd.ExecuteScalarAsync(ct) is DateTime earlier)
            {
                throw new RetentionRefusedException($"seal {earlier:yyyy-MM} first: months are sealed in order, so every chain continues from one segment to the next");
            }
        }
        var directory = archive.SegmentDirectory(month);
        var result = await exporter.ExportAsync(new ExportRequest(from, to, [], [], actor) { CompressEvents = true, SealedMonth = ArchiveLayout.MonthKey(month) }, directory, progress, ct);
        var manifest = ArchiveLayout.ManifestSha256(directory);
        var segment = new ArchivedSegment(ArchiveLayout.MonthKey(month), archive.RelativeSegment(month), manifest, result.Events, result.Checkpoint.Size);
        archive.WriteIndex(archive.ReadIndex().Where(s => s.Month != segment.Month).Append(segment));

        var at = clock.GetUtcNow();
        await using (var cmd = dataSource.CreateCommand(RetentionSql.InsertSealed))
        {
            cmd.Parameters.AddWithValue("month", month);
            cmd.Parameters.AddWithValue("segment", segment.Path);
            cmd.Parameters.AddWithValue("manifest_sha256", Convert.FromHexString(manifest));
            cmd.Parameters.AddWithValue("events", result.Events);
            cmd.Parameters.AddWithValue("checkpoint_size", result.Checkpoint.Size);
            cmd.Parameters.AddWithValue("sealed_at", at);
            cmd.Parameters.AddWithValue("sealed_by", actor);
            await cmd.ExecuteNonQueryAsync(ct);
        }
        await RecordAsync(new RetentionRecorded
        {
            EventId = Guid.CreateVersion7(at), At = Timestamps.ToUtcMicroseconds(at), Action = RetentionAction.Sealed, Month = segment.Month, Actor = actor,
            Detail = $"segment {segment.Path}, {result.Events} events, manifest sha256 {manifest}, checkpoint {result.Checkpoint.Size} root {result.Checkpoint.RootHash}",
        }, ct);
        return new SealedMonth(month, segment.Path, manifest, result.Events, result.Checkpoint.Size, at, actor, null);
    }

    public async Task<List<SealedMonth>> SealedAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(RetentionSql.Sealed);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var result = new List<SealedMonth>();
        while (await reader.ReadAsync(ct))
        {
            result.Add(new SealedMonth(DateOnly.FromDateTime(reader.GetDateTime(0)), reader.GetString(1), Convert.ToHexStringLower(reader.GetFieldValue<byte[]>(2)),
                reader.GetInt64(3), reader.GetInt64(4), reader.GetFieldValue<DateTimeOffset>(5), reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7)));
        }
        return result;
    }

    private async Task<List<DateOnly>> HotMonthsAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(RetentionSql.HotMonths);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var months = new List<DateOnly>();
        while (await reader.ReadAsync(ct))
        {
            months.Add(DateOnly.FromDateTime(reader.GetDateTime(0)));
        }
        return months;
    }

    private async Task RefuseIfHeldAsync(string key, DateOnly month, string directory, RetentionPolicy policy, CancellationToken ct)
    {
        var (from, to) = Bounds(month);
        var holds = (await HoldsAsync(ct)).Where(h => h.Overlaps(from, to)).ToList();
        if (holds.Count == 0)
        {
            return;
        }
        var (streams, owners) = ArchiveLayout.ChainsAndOwners(directory);
        foreach (var hold in holds)
        {
            // The segment itself says whose agents acted (agent.owner of its events), so a re-owned
            // agent or a rebuilt inventory cannot make a hold miss; the inventory is consulted too.
            var covered = (hold.Agent is null && hold.Owner is null)
                || (hold.Agent is not null && streams.Contains(hold.Agent))
                || (hold.Owner is not null && (owners.Contains(hold.Owner) || (await AgentsOfOwnerAsync(hold.Owner, ct)).Any(streams.Contains)));
            if (covered)
            {
                throw new RetentionRefusedException($"{key}: legal hold {hold.Id} ({hold.Describe()}; {hold.Reason}) covers events of this month; it is kept past {policy.Years} years until the hold is released");
            }
        }
    }

    private async Task<List<string>> AgentsOfOwnerAsync(string owner, CancellationToken ct)
    {
        var agents = new List<string>();
        await using var byOwner = dataSource.CreateCommand(AccessSql.AgentsOfOwners);
        byOwner.Parameters.Add(new NpgsqlParameter("owners", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = new[] { owner } });
        await using var reader = await byOwner.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            agents.Add(reader.GetString(0));
        }
        return agents;
    }

    /// <summary>One owner transaction: record the drop, retain the shared blocks' leaves and every event's digest, drop the partition.</summary>
    private static async Task DropPartitionAsync(NpgsqlDataSource owner, DateOnly month, string partition, string manifestSha256,
        DateTimeOffset from, DateTimeOffset to, string actor, DateTimeOffset at, CancellationToken ct)
    {
        await using (var conn = await owner.OpenConnectionAsync(ct))
        await using (var tx = await conn.BeginTransactionAsync(ct))
        {
            await using (var record = new NpgsqlCommand(RetentionSql.InsertDropped, conn, tx))
            {
                record.Parameters.AddWithValue("month", month);
                record.Parameters.AddWithValue("manifest_sha256", Convert.FromHexString(manifestSha256));
                record.Parameters.AddWithValue("dropped_at", at);
                record.Parameters.AddWithValue("dropped_by", actor);
                record.Parameters.AddWithValue("from", from);
                record.Parameters.AddWithValue("to", to);
                await record.ExecuteNonQueryAsync(ct);
            }
            foreach (var keep in new[] { RetentionSql.RetainLeaves, RetentionSql.KeepDigests })
            {
                await using var retain = new NpgsqlCommand(keep, conn, tx);
                retain.Parameters.AddWithValue("from", from);
                retain.Parameters.AddWithValue("to", to);
                await retain.ExecuteNonQueryAsync(ct);
            }
            // The partition name is built from a parsed month only (yyyy_MM digits), never from input text.
            await using (var drop = new NpgsqlCommand($"ALTER TABLE audit.events DETACH PARTITION audit.{partition}; DROP TABLE audit.{partition};", conn, tx))
            {
                await drop.ExecuteNonQueryAsync(ct);
            }
            await tx.CommitAsync(ct);
        }
    }

    /// <summary>Chains that cross from the archive into the hot store must link: the stored event after each archived tail must point at it.</summary>
    public async Task<List<string>> CheckCrossingAsync(IReadOnlyDictionary<string, (long Version, byte[] Hash)> tails, CancellationToken ct)
    {
        var problems = new List<string>();
        if (tails.Count == 0)
        {
            return problems;
        }
        await using var cmd = dataSource.CreateCommand(RetentionSql.ArchiveNextLink);
        cmd.Parameters.Add(new NpgsqlParameter("streams", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = tails.Keys.ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter("versions", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = tails.Values.Select(t => t.Version).ToArray() });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var stream = reader.GetString(0);
            if (!reader.GetFieldValue<byte[]>(2).AsSpan().SequenceEqual(tails[stream].Hash))
            {
                problems.Add($"chain '{stream}': stored version {reader.GetInt64(1)} does not link to version {tails[stream].Version} in the archive (prev_hash differs)");
            }
        }
        return problems;
    }

    private async Task<bool> CoversAsync(LegalHold hold, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        if (!hold.Overlaps(from, to))
        {
            return false;
        }
        if (hold.Agent is null && hold.Owner is null)
        {
            return true;
        }
        var agents = new List<string>();
        if (hold.Agent is not null)
        {
            agents.Add(hold.Agent);
        }
        if (hold.Owner is not null)
        {
            agents.AddRange(await AgentsOfOwnerAsync(hold.Owner, ct));
        }
        await using var cmd = dataSource.CreateCommand(RetentionSql.MonthHasAgents);
        cmd.Parameters.AddWithValue("from", hold.From is { } hf && hf > from ? hf : from);
        cmd.Parameters.AddWithValue("to", hold.To is { } ht && ht < to ? ht : to);
        cmd.Parameters.Add(new NpgsqlParameter("agents", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = agents.ToArray() });
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private async Task<long> CountAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(RetentionSql.MonthCount);
        cmd.Parameters.AddWithValue("from", from);
        cmd.Parameters.AddWithValue("to", to);
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Appends one retention operation to the retention log chain.</summary>
    public async Task RecordAsync(RetentionRecorded r, CancellationToken ct)
    {
        var payload = ContractJson.SerializeCanonical(r);
        // Any version: the retention log is a log, not an aggregate; a hold's own transitions are
        // guarded by audit.legal_holds (audit.release_legal_hold releases an active hold once).
        await store.AppendToStreamAsync(RetentionRecorded.Stream, ExpectedVersion.Any, [new NewStreamEvent(r.EventId, RetentionRecorded.TypeName, r.At, payload)], ct);
    }

    private static (DateTimeOffset From, DateTimeOffset To) Bounds(DateOnly month)
    {
        var from = new DateTimeOffset(month.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        return (from, from.AddMonths(1));
    }
}
