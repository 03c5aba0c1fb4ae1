using AuditPipeline.Contracts;
using AuditPipeline.Integrity;
using AuditPipeline.Integrity.Evidence;
using AuditPipeline.Integrity.Store;
using Npgsql;

namespace AuditPipeline.Retention;

// Purging expired archived months, and the policy run that seals, drops and purges in order.
public sealed partial class RetentionService
{
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
}
