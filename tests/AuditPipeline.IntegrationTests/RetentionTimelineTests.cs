using AuditPipeline.EventStore;
using AuditPipeline.Integrity;
using AuditPipeline.Integrity.Evidence;
using AuditPipeline.Integrity.Store;
using AuditPipeline.Retention;
using AuditPipeline.Emitter;
using AuditPipeline.IntegrationTests.Infrastructure;
using AuditPipeline.Testing;
using Xunit;

namespace AuditPipeline.IntegrationTests;

/// <summary>
/// Issue 8: eight years of a small fleet on a simulated clock (real PostgreSQL). Every month gets
/// events and the retention job runs on its 2nd, as a nightly job would; two legal holds change the
/// schedule. At the end exactly the expected months are hot, archived and purged, and the whole
/// history (archive + hot store, chains, checkpoints) verifies.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class RetentionTimelineTests(PipelineFixture fx) : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("ap-timeline-").FullName;
    private readonly CheckpointSigner _signer = CheckpointSigner.Generate();

    public void Dispose()
    {
        _signer.Dispose();
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task Eight_simulated_years_end_with_exactly_the_expected_months_hot_archived_and_purged_and_everything_verifies()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var ds = store.SeedDataSource();
        await using var owner = store.AdminDataSource();
        var clock = new ManualClock(new DateTimeOffset(2019, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var events = new PostgresEventStore(ds, clock);
        var retention = new RetentionService(ds, events, clock);
        var archive = new ArchiveLayout(Path.Combine(_work, "archive"));
        var exporter = new BundleExporter(ds, new CheckpointService(ds, _signer, []), _signer);
        var policy = new RetentionPolicy { HotMonths = 13, Years = 7 };
        var fleet = new SampleFleet(3, seed: 8);
        var heldAgent = fleet.Agents[0].Id;
        var lateHeldAgent = fleet.Agents[1].Id;
        static DateOnly M(int year, int month) => new(year, month, 1);
        static DateTimeOffset At(DateOnly month, int day) => new(month.ToDateTime(new TimeOnly(12, 0)).AddDays(day - 1), TimeSpan.Zero);
        static DateTimeOffset Start(DateOnly month) => new(month.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

        // A litigation hold on March 2019 from the start, released in June 2020.
        var march = await retention.CreateHoldAsync(heldAgent, null, Start(M(2019, 3)), Start(M(2019, 4)), "litigation 2019-17", "legal@example.com", default);
        var droppedWhileHeld = new List<string>();
        for (var month = M(2019, 1); month <= M(2026, 11); month = month.AddMonths(1))
        {
            clock.Now = At(month, 10);
            await events.AppendAsync(TestEvents.AcrossFleet(fleet, 12), [], default);
            await IntegrityKit.ProjectTreeAsync(ds);

            clock.Now = At(month.AddMonths(1), 2);
            if (month.AddMonths(1) == M(2020, 6))
            {
                droppedWhileHeld = (await retention.SealedAsync(default)).Where(s => s.DroppedAt is not null).Select(s => ArchiveLayout.MonthKey(s.Month)).ToList();
                await retention.ReleaseHoldAsync(march.Id, "case closed", "legal@example.com", default);
            }
            if (month.AddMonths(1) == M(2025, 6))
            {
                // A later hold reaches back into the archive: May 2019 must outlive its 7 years.
                await retention.CreateHoldAsync(lateHeldAgent, null, Start(M(2019, 5)), Start(M(2019, 6)), "regulator inquiry", "legal@example.com", default);
            }
            await retention.RunPolicyAsync(policy, archive, exporter, owner, "retention job", default);
            await IntegrityKit.ProjectTreeAsync(ds); // the retention log's own events, before the next month's drop needs them covered
        }

        // While March 2019 was held, nothing from March on left the hot store.
        Assert.Equal(["2019-01", "2019-02"], droppedWhileHeld);

        // Now is 2026-12-02: hot are the 13 months 2025-12 .. 2026-12 (December holds the last run's retention log events).
        var expectedHot = Enumerable.Range(0, 13).Select(i => M(2025, 12).AddMonths(i)).ToList();
        Assert.Equal(expectedHot.Select(ArchiveLayout.MonthKey), await MonthsWithEventsAsync(store));
        var sealedMonths = await retention.SealedAsync(default);
        Assert.Equal(95, sealedMonths.Count); // 2019-01 .. 2026-11
        Assert.Equal(Enumerable.Range(0, 83).Select(i => ArchiveLayout.MonthKey(M(2019, 1).AddMonths(i))),
            sealedMonths.Where(s => s.DroppedAt is not null).Select(s => ArchiveLayout.MonthKey(s.Month)));
        // Purged: every month whose 7 years ended by now (2019-01 .. 2019-11) except the held May.
        var index = archive.ReadIndex();
        var expectedPurged = Enumerable.Range(0, 11).Select(i => ArchiveLayout.MonthKey(M(2019, 1).AddMonths(i))).Where(m => m != "2019-05").ToList();
        Assert.Equal(expectedPurged, index.Where(s => s.PurgedAt is not null).Select(s => s.Month));
        Assert.False(File.Exists(Path.Combine(archive.SegmentDirectory(M(2019, 3)), BundleFormat.EventsCompressed)));
        Assert.True(File.Exists(Path.Combine(archive.SegmentDirectory(M(2019, 5)), BundleFormat.EventsCompressed)));
        Assert.True(File.Exists(Path.Combine(archive.SegmentDirectory(M(2019, 12)), BundleFormat.EventsCompressed)));

        // Everything verifiable: the archive offline (purged segments by their kept hashes), the chains
        // across archive and hot store, and every checkpoint from position 1.
        var report = (await ArchiveVerifier.VerifyAsync(archive.Root));
        Assert.True(report.Ok, string.Join("\n", report.Problems));
        Assert.Equal((95, 10), (report.Segments, report.Purged));
        Assert.Empty(await retention.CheckCrossingAsync(report.ChainTails, default));
        var env = new Dictionary<string, string>(IntegrityKit.Env(await IntegrityKit.WriteKeyAsync(_signer, _work), null));
        var (verifyExit, verifyText) = await fx.AuditctlAsync(store, env, "verify", "--archive", archive.Root);
        Assert.True(verifyExit == 0, verifyText);
        var (signExit, signText) = await fx.AuditctlAsync(store, env, "checkpoint", "create");
        Assert.True(signExit == 0, signText);
        var (cpExit, cpText) = await fx.AuditctlAsync(store, env, "checkpoint", "verify", "--archive", archive.Root, "--trusted-key", await IntegrityKit.WritePublicKeyAsync(_signer, _work));
        Assert.True(cpExit == 0, cpText);

        // A projection replayed from zero (a rebuild) passes over the 83 dropped months and sees every hot event.
        long replayed = 0;
        await new StoreSubscription(ds, "rebuild-after-drops", (batch, _) => { replayed += batch.Count; return Task.CompletedTask; },
            new SubscriptionOptions { StopWhenCaughtUp = true, BatchSize = 100 }).RunAsync(default);
        Assert.Equal(await store.CountAsync("SELECT count(*) FROM audit.events"), replayed);

        // The hold of 2025 outlived the drop of the month that recorded it; the released one is gone.
        var holds = await retention.HoldsAsync(default);
        Assert.Equal(lateHeldAgent, Assert.Single(holds).Agent);
        // The retention log is complete across archive and hot store: its chain runs unbroken from version 1.
        Assert.True(report.ChainTails.ContainsKey("retention log"));
        Assert.Equal(95 + 83 + 10 + 3, await store.CountAsync("SELECT max(version) FROM audit.events WHERE stream_id = 'retention log'"));

        // A month later 2019-12 expires, but a hold on an owner covers it. No inventory names that
        // owner's agents here (the read models were never built): the segment's own events do.
        var owner2 = fleet.Agents[2].Owner!;
        await retention.CreateHoldAsync(null, owner2, Start(M(2019, 12)), Start(M(2020, 1)), "owner matter", "legal@example.com", default);
        clock.Now = At(M(2027, 1), 2);
        await IntegrityKit.ProjectTreeAsync(ds);
        var january = await retention.RunPolicyAsync(policy, archive, exporter, owner, "retention job", default);
        Assert.Empty(january.Purged);
        Assert.Contains(january.Kept, k => k.StartsWith("2019-12 stays archived", StringComparison.Ordinal) && k.Contains("legal hold", StringComparison.Ordinal) && k.Contains(owner2, StringComparison.Ordinal));

        // A purge interrupted after its hashes and record were written (before any deletion) is
        // reported by verification, and the next run finishes it.
        var ownerHold = Assert.Single(await retention.HoldsAsync(default), h => h.Owner == owner2);
        await retention.ReleaseHoldAsync(ownerHold.Id, "matter closed", "legal@example.com", default);
        var december = archive.SegmentDirectory(M(2019, 12));
        ArchiveLayout.WriteLeaves(december);
        await File.WriteAllBytesAsync(Path.Combine(december, BundleFormat.PurgeRecord), System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(
            new PurgeRecord("2019-12", clock.Now, "retention job", [.. BundleFormat.PurgedFiles.Where(f => File.Exists(Path.Combine(december, f)))], "interrupted"), BundleFormat.Json));
        // (The simulated clock is ahead of this machine's, so the verifier is told what now is.)
        Assert.Contains((await ArchiveVerifier.VerifyAsync(archive.Root, now: clock.Now)).Problems, p => p.StartsWith("segment 2019-12: purged.json: claims a purge", StringComparison.Ordinal));
        var resumed = await retention.RunPolicyAsync(policy, archive, exporter, owner, "retention job", default);
        Assert.Equal(["2019-12"], resumed.Purged);
        var afterResume = (await ArchiveVerifier.VerifyAsync(archive.Root, now: clock.Now));
        Assert.True(afterResume.Ok, string.Join("\n", afterResume.Problems));
        Assert.Equal(11, afterResume.Purged);

        // A planted purge record on an intact segment is named, not believed.
        var intact = archive.SegmentDirectory(M(2020, 1));
        await File.WriteAllTextAsync(Path.Combine(intact, BundleFormat.PurgeRecord),
            "{\"month\":\"2020-01\",\"purgedAt\":\"2027-02-01T00:00:00Z\",\"purgedBy\":\"x\",\"removed\":[],\"reason\":\"x\"}");
        var planted = (await ArchiveVerifier.VerifyAsync(archive.Root, now: clock.Now));
        Assert.Contains(planted.Problems, p => p.StartsWith("segment 2020-01: purged.json: claims a purge", StringComparison.Ordinal));
    }

    private static async Task<List<string>> MonthsWithEventsAsync(TestStore store)
    {
        await using var ds = store.AdminDataSource();
        await using var cmd = ds.CreateCommand("SELECT DISTINCT to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM') FROM audit.events ORDER BY 1");
        await using var reader = await cmd.ExecuteReaderAsync();
        var months = new List<string>();
        while (await reader.ReadAsync())
        {
            months.Add(reader.GetString(0));
        }
        return months;
    }
}
