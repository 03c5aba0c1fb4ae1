using AuditPipeline.Contracts;
using AuditPipeline.Integrity;
using AuditPipeline.Integrity.Evidence;
using AuditPipeline.Integrity.Store;
using Npgsql;

namespace AuditPipeline.Retention;

// Dropping a sealed, verified, unheld month from the hot store (the schema owner's one operation).
public sealed partial class RetentionService
{
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
}
