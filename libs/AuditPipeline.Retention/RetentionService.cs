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
public sealed class RetentionService(NpgsqlDataSource dataSource, IStreamWriter store, TimeProvider clock)
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

    public async Task<LegalHold> CreateHoldAsync(string? agent, string? owner, DateTimeOffset? from, DateTimeOffset? to, string reason, string actor, CancellationToken ct)
    {
        if (agent is null && owner is null && from is null && to is null)
        {
            throw new ArgumentException("a legal hold names an agent, an owner or a time range (or several)");
        }
        if (string.IsNullOrWhiteSpace(reason))
        {
            throw new ArgumentException("a legal hold needs a reason (the matter it is for)");
        }
        var at = clock.GetUtcNow();
        var hold = new LegalHold(Guid.CreateVersion7(at), agent, owner, from, to, reason, actor, at);
        // The table first: a hold that is enforced but whose log entry failed is safe; the reverse is not.
        await using (var cmd = dataSource.CreateCommand(RetentionSql.LegalHoldInsert))
        {
            cmd.Parameters.AddWithValue("hold_id", hold.Id);
            cmd.Parameters.Add(new NpgsqlParameter("agent_id", NpgsqlDbType.Text) { Value = (object?)agent ?? DBNull.Value });
            cmd.Parameters.Add(new NpgsqlParameter("owner", NpgsqlDbType.Text) { Value = (object?)owner ?? DBNull.Value });
            cmd.Parameters.Add(new NpgsqlParameter("held_from", NpgsqlDbType.TimestampTz) { Value = (object?)from ?? DBNull.Value });
            cmd.Parameters.Add(new NpgsqlParameter("held_to", NpgsqlDbType.TimestampTz) { Value = (object?)to ?? DBNull.Value });
            cmd.Parameters.AddWithValue("reason", reason);
            cmd.Parameters.AddWithValue("created_by", actor);
            cmd.Parameters.AddWithValue("created_at", at);
            await cmd.ExecuteNonQueryAsync(ct);
        }
        await RecordAsync(new RetentionRecorded
        {
            EventId = Guid.CreateVersion7(at), At = Timestamps.ToUtcMicroseconds(at), Action = RetentionAction.HoldCreated, HoldId = hold.Id,
            HoldAgent = agent, HoldOwner = owner, HoldFrom = from is null ? null : Timestamps.ToUtcMicroseconds(from.Value),
            HoldTo = to is null ? null : Timestamps.ToUtcMicroseconds(to.Value), Actor = actor, Reason = reason,
        }, ct);
        return hold;
    }

    public async Task ReleaseHoldAsync(Guid id, string reason, string actor, CancellationToken ct)
    {
        var at = clock.GetUtcNow();
        await using (var cmd = dataSource.CreateCommand(RetentionSql.LegalHoldRelease))
        {
            cmd.Parameters.AddWithValue("hold_id", id);
            cmd.Parameters.AddWithValue("at", at);
            cmd.Parameters.AddWithValue("by", actor);
            cmd.Parameters.AddWithValue("reason", reason);
            if (await cmd.ExecuteScalarAsync(ct) is not true)
            {
                throw new RetentionRefusedException($"no active legal hold {id}");
            }
        }
        await RecordAsync(new RetentionRecorded
        {
            EventId = Guid.CreateVersion7(at), At = Timestamps.ToUtcMicroseconds(at), Action = RetentionAction.HoldReleased, HoldId = id, Actor = actor, Reason = reason,
        }, ct);
    }

    /// <summary>
    /// Active legal holds, from <c>audit.legal_holds</c>: the retention log records them too, but
    /// its events leave the hot store with their month while the hold may last for years.
    /// </summary>
    public async Task<List<LegalHold>> HoldsAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(RetentionSql.LegalHoldsActive);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var holds = new List<LegalHold>();
        while (await reader.ReadAsync(ct))
        {
            holds.Add(new LegalHold(reader.GetGuid(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3), reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4),
                reader.GetString(5), reader.GetString(6), reader.GetFieldValue<DateTimeOffset>(7)));
        }
        return holds;
    }

    /// <summary>
    /// Drops a sealed month's partition from the hot store, as the schema owner. Refuses (and
    /// changes nothing) unless the month is sealed, its segment verifies offline and is the one
    /// recorded at sealing, and no active legal hold covers any of its events.
    /// </summary>
    public async Task DropAsync(DateOnly month, ArchiveLayout archive, NpgsqlDataSource owner, string actor, string? trustedPublicKeyPem, CancellationToken ct)
    {
        var key = ArchiveLayout.MonthKey(month);
        var sealedMonth = (await SealedAsync(ct)).FirstOrDefault(s => s.Month == month)
            ?? throw new RetentionRefusedException($"{key} is not sealed: seal it first (auditctl archive seal --month {key})");
        if (sealedMonth.DroppedAt is not null)
        {
            throw new RetentionRefusedException($"{key} was dropped already, at {sealedMonth.DroppedAt:yyyy-MM-dd HH:mm}Z");
        }
        var directory = Path.Combine(archive.Root, sealedMonth.Segment);
        if (!Directory.Exists(directory))
        {
            throw new RetentionRefusedException($"{key}: its archive segment {directory} is missing; refusing to drop the only copy");
        }
        // Unchanged for now: without a key, the segment is checked against its own public key (archive drop --trusted-key pins).
        var check = await BundleVerifier.VerifyAsync(directory, trustedPublicKeyPem is null ? TrustedKeys.SelfSigned() : TrustedKeys.Pinned([trustedPublicKeyPem]), now: clock.GetUtcNow(), ct: ct);
        if (!check.Ok)
        {
            throw new RetentionRefusedException($"{key}: its archive segment does not verify ({string.Join("; ", check.Problems.Take(3))}); refusing to drop the only good copy");
        }
        if (check.Purged is not null)
        {
            throw new RetentionRefusedException($"{key}: its archive segment says its contents were purged; refusing to drop the only copy of them");
        }
        if (ArchiveLayout.ManifestSha256(directory) != sealedMonth.ManifestSha256)
        {
            throw new RetentionRefusedException($"{key}: the archive segment is not the one sealed (manifest SHA-256 differs from the one recorded at sealing)");
        }
        var (from, to) = Bounds(month);
        foreach (var hold in await HoldsAsync(ct))
        {
            if (await CoversAsync(hold, from, to, ct))
            {
                throw new RetentionRefusedException($"{key}: legal hold {hold.Id} ({hold.Describe()}; {hold.Reason}) covers events of this month; release it first");
            }
        }
        if (check.Events != sealedMonth.Events || await CountAsync(from, to, ct) != sealedMonth.Events)
        {
            throw new RetentionRefusedException($"{key}: the hot store holds another number of events than the segment ({sealedMonth.Events}); seal again after investigating");
        }

        // Proofs and roots must keep working without the month's rows: whole 256-leaf blocks live on
        // as stored tree nodes (the tree projection must have passed the month), and the leaves of
        // blocks shared with other months are retained below.
        await using (var last = dataSource.CreateCommand(RetentionSql.MonthPositions))
        {
            last.Parameters.AddWithValue("from", from);
            last.Parameters.AddWithValue("to", to);
            var lastPosition = (long)(await last.ExecuteScalarAsync(ct))!;
            var covered = await new StoredMerkleTree(dataSource).CoveredSizeAsync(ct);
            if (covered < lastPosition / 256 * 256)
            {
                throw new RetentionRefusedException($"{key}: the Merkle tree projection has reached log position {covered}, not yet the month's last event ({lastPosition}); wait for the projection worker");
            }
            // Every projection and detector must have seen the month: after the drop they could not.
            await using var lagging = dataSource.CreateCommand(RetentionSql.LaggingSubscriptions);
            lagging.Parameters.AddWithValue("position", lastPosition);
            await using var reader = await lagging.ExecuteReaderAsync(ct);
            var behind = new List<string>();
            while (await reader.ReadAsync(ct))
            {
                behind.Add($"{reader.GetString(0)} at {reader.GetInt64(1)}");
            }
            if (behind.Count > 0)
            {
                throw new RetentionRefusedException($"{key}: subscriptions have not yet handled the month's last event ({lastPosition}): {string.Join(", ", behind)}; wait for them (auditctl store subscriptions)");
            }
        }
        var partition = $"events_{month:yyyy_MM}";
        var at = clock.GetUtcNow();
        try
        {
            await DropPartitionAsync(owner, month, partition, sealedMonth.ManifestSha256, from, to, actor, at, ct);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            throw new RetentionRefusedException($"{key}: dropping a month needs the schema owner's connection (Store:AdminConnectionString); nothing was changed ({ex.MessageText})");
        }
        await RecordAsync(new RetentionRecorded
        {
            EventId = Guid.CreateVersion7(at), At = Timestamps.ToUtcMicroseconds(at), Action = RetentionAction.Dropped, Month = key, Actor = actor,
            Detail = $"partition audit.{partition}, {sealedMonth.Events} events, archived in {sealedMonth.Segment} (manifest sha256 {sealedMonth.ManifestSha256}), verified before the drop",
        }, ct);
    }

    /// <summary>
    /// Removes an archived month's event contents once the retention period has passed: its chain
    /// hashes stay (<see cref="BundleFormat.Leaves"/>) so every later chain, checkpoint and proof
    /// still verifies. Refused unless the month was dropped from the hot store, has expired, its
    /// segment verifies, and no legal hold covers its agents or time.
    /// </summary>
    public async Task PurgeAsync(DateOnly month, ArchiveLayout archive, RetentionPolicy policy, string actor, CancellationToken ct)
    {
        var key = ArchiveLayout.MonthKey(month);
        var sealedMonth = (await SealedAsync(ct)).FirstOrDefault(s => s.Month == month)
            ?? throw new RetentionRefusedException($"{key} is not sealed");
        if (sealedMonth.DroppedAt is null)
        {
            throw new RetentionRefusedException($"{key} is still in the hot store: drop it first");
        }
        var now = clock.GetUtcNow();
        if (now < policy.ExpiresAt(month))
        {
            throw new RetentionRefusedException($"{key} is kept until {policy.ExpiresAt(month):yyyy-MM-dd} ({policy.Years} years after the month ends)");
        }
        var index = archive.ReadIndex();
        var entry = index.FirstOrDefault(s => s.Month == key) ?? throw new RetentionRefusedException($"{key} is not in the archive index");
        if (entry.PurgedAt is not null)
        {
            throw new RetentionRefusedException($"{key} was purged already, at {entry.PurgedAt:yyyy-MM-dd}");
        }
        var directory = Path.Combine(archive.Root, entry.Path);
        if (!Directory.Exists(directory) || ArchiveLayout.ManifestSha256(directory) != sealedMonth.ManifestSha256)
        {
            throw new RetentionRefusedException($"{key}: the archive segment is missing or not the one sealed (manifest SHA-256 differs from the one recorded at sealing)");
        }
        var record = Path.Combine(directory, BundleFormat.PurgeRecord);
        var resuming = File.Exists(record) && File.Exists(Path.Combine(directory, BundleFormat.Leaves));
        var removed = resuming
            ? System.Text.Json.JsonSerializer.Deserialize<PurgeRecord>(File.ReadAllBytes(record), BundleFormat.Json)?.Removed.ToList() ?? []
            : BundleFormat.PurgedFiles.Where(f => File.Exists(Path.Combine(directory, f))).ToList();
        long leaves;
        if (resuming)
        {
            // An earlier purge stopped after its record: the hashes are kept already; finish the removal.
            leaves = ArchiveLayout.ReadPurgedLeaves(directory).LongCount();
        }
        else
        {
            // Integrity before deleting, not authorship: this segment is the one recorded at sealing (checked above).
            var check = await BundleVerifier.VerifyAsync(directory, TrustedKeys.SelfSigned(), now: clock.GetUtcNow(), ct: ct);
            if (!check.Ok)
            {
                throw new RetentionRefusedException($"{key}: its archive segment does not verify ({string.Join("; ", check.Problems.Take(3))}); investigate before purging");
            }
            await RefuseIfHeldAsync(key, month, directory, policy, ct);

            // Hashes first (on disk), then the record, then the removal: a crash in between leaves
            // a segment that still verifies, and running the purge again finishes it.
            leaves = ArchiveLayout.WriteLeaves(directory);
            using (var file = File.Create(record + ".tmp"))
            {
                file.Write(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
                    new PurgeRecord(key, now, actor, removed, $"retention period of {policy.Years} years ended {policy.ExpiresAt(month):yyyy-MM-dd}"), BundleFormat.Json));
                file.Flush(flushToDisk: true);
            }
            File.Move(record + ".tmp", record, overwrite: true);
        }
        foreach (var file in removed)
        {
            File.Delete(Path.Combine(directory, file));
        }
        archive.WriteIndex(index.Select(s => s.Month == key ? s with { PurgedAt = now } : s));
        await RecordAsync(new RetentionRecorded
        {
            EventId = Guid.CreateVersion7(now), At = Timestamps.ToUtcMicroseconds(now), Action = RetentionAction.Purged, Month = key, Actor = actor,
            Detail = $"removed {string.Join(", ", removed)} from {entry.Path}; kept the chain hashes of {leaves} events ({BundleFormat.Leaves}), the proof and the signed manifest",
        }, ct);
    }

    /// <summary>
    /// Applies the retention policy at the clock's now, oldest month first: seals every closed month
    /// that holds events, drops sealed months before the hot window (stopping at the first refusal,
    /// so the hot store stays one contiguous run of months), and purges expired archived months
    /// (a held month is skipped and the run goes on).
    /// </summary>
    public async Task<RetentionRunReport> RunPolicyAsync(RetentionPolicy policy, ArchiveLayout archive, BundleExporter exporter, NpgsqlDataSource owner,
        string actor, CancellationToken ct)
    {
        var report = RetentionRunReport.Empty();
        var now = clock.GetUtcNow();
        var sealedMonths = (await SealedAsync(ct)).Select(s => s.Month).ToHashSet();
        foreach (var month in await HotMonthsAsync(ct))
        {
            var (from, to) = Bounds(month);
            if (sealedMonths.Contains(month) || to + CloseAfter > now || await CountAsync(from, to, ct) == 0)
            {
                continue;
            }
            await SealAsync(month, archive, exporter, actor, ct);
            report.Sealed.Add(ArchiveLayout.MonthKey(month));
        }
        var firstHot = policy.FirstHotMonth(now);
        foreach (var month in (await SealedAsync(ct)).Where(s => s.DroppedAt is null && s.Month < firstHot).Select(s => s.Month).Order())
        {
            try
            {
                await DropAsync(month, archive, owner, actor, null, ct);
                report.Dropped.Add(ArchiveLayout.MonthKey(month));
            }
            catch (RetentionRefusedException ex)
            {
                report.Kept.Add($"{ArchiveLayout.MonthKey(month)} stays hot: {ex.Message}");
                break;
            }
        }
        var dropped = (await SealedAsync(ct)).Where(s => s.DroppedAt is not null).Select(s => s.Month).ToHashSet();
        foreach (var entry in archive.ReadIndex().Where(s => s.PurgedAt is null).OrderBy(s => s.Month, StringComparer.Ordinal))
        {
            var month = ArchiveLayout.ParseMonth(entry.Month);
            if (!dropped.Contains(month) || now < policy.ExpiresAt(month))
            {
                continue;
            }
            try
            {
                await PurgeAsync(month, archive, policy, actor, ct);
                report.Purged.Add(entry.Month);
            }
            catch (RetentionRefusedException ex)
            {
                report.Kept.Add($"{entry.Month} stays archived: {ex.Message}");
            }
        }
        return report;
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
