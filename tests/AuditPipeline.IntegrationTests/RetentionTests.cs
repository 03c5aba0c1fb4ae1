using System.Text.RegularExpressions;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity;
using AuditPipeline.Integrity.Evidence;
using AuditPipeline.Integrity.Store;
using AuditPipeline.Emitter;
using AuditPipeline.IntegrationTests.Infrastructure;
using AuditPipeline.Projections;
using AuditPipeline.Testing;
using Npgsql;
using Xunit;

namespace AuditPipeline.IntegrationTests;

/// <summary>Issue 8 on a real PostgreSQL: sealing months into the archive, legal holds, dropping from the hot store.</summary>
[Collection(PipelineCollection.Name)]
public sealed class RetentionTests(PipelineFixture fx) : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("ap-retention-").FullName;
    private readonly CheckpointSigner _signer = CheckpointSigner.Generate();

    public void Dispose()
    {
        _signer.Dispose();
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task A_month_sealed_archived_and_dropped_leaves_a_history_that_verifies_and_answers_why_from_the_archive()
    {
        var (store, ds, approved) = await HistoryAsync();
        var archive = Path.Combine(_work, "archive");
        var env = await EnvAsync();

        var (outOfOrder, outOfOrderText) = await fx.AuditctlAsync(store, env, "archive", "seal", "--month", "2026-10", "--archive", archive, "--by", "ops@example.com");
        Assert.True(outOfOrder == 1, outOfOrderText);
        Assert.Contains("seal 2026-09 first", outOfOrderText);
        foreach (var month in new[] { "2026-09", "2026-10" })
        {
            var (exit, output) = await fx.AuditctlAsync(store, env, "archive", "seal", "--month", month, "--archive", archive, "--by", "ops@example.com");
            Assert.True(exit == 0, output);
        }
        var (open, openText) = await fx.AuditctlAsync(store, env, "archive", "seal", "--month", DateTime.UtcNow.ToString("yyyy-MM"), "--archive", archive, "--by", "ops@example.com");
        Assert.True(open == 1, openText);
        Assert.Contains("not closed", openText);
        Assert.True(File.Exists(Path.Combine(archive, "segments", "2026", "09", BundleFormat.EventsCompressed)));
        Assert.True((await BundleVerifier.VerifyAsync(Path.Combine(archive, "segments", "2026", "09"), TrustedKeys.Pinned([_signer.PublicKeyPem]))).Ok);

        var (dropExit, dropText) = await fx.AuditctlAsync(store, env, "archive", "drop", "--month", "2026-09", "--archive", archive, "--by", "ops@example.com");
        Assert.True(dropExit == 0, dropText);
        Assert.Equal(0, await store.CountAsync("SELECT count(*) FROM pg_tables WHERE schemaname = 'audit' AND tablename = 'events_2026_09'"));
        Assert.Equal(0, await store.CountAsync("SELECT count(*) FROM audit.events WHERE recorded_at < '2026-10-01'"));

        // The whole history, archive + hot: chains, segments, chains crossing into the store, every checkpoint.
        var (plainExit, plainText) = await fx.AuditctlAsync(store, "verify");
        Assert.True(plainExit == 1, "without the archive the chains start mid-way: " + plainText);
        var (verifyExit, verifyText) = await fx.AuditctlAsync(store, env, "verify", "--archive", archive);
        Assert.True(verifyExit == 0, verifyText);
        Assert.Contains("archive: OK, 2 sealed months", verifyText);
        var (crossExit, crossText) = await fx.AuditctlAsync(store, env, "archive", "verify", "--archive", archive, "--with-store");
        Assert.True(crossExit == 0, crossText);
        await IntegrityKit.ProjectTreeAsync(ds);
        var (signExit, signText) = await fx.AuditctlAsync(store, env, "checkpoint", "create");
        Assert.True(signExit == 0, "a checkpoint after the drop (stored nodes + retained leaves): " + signText);
        var (cpExit, cpText) = await fx.AuditctlAsync(store, env, "checkpoint", "verify", "--archive", archive, "--trusted-key", await IntegrityKit.WritePublicKeyAsync(_signer, _work));
        Assert.True(cpExit == 0, cpText);
        Assert.Contains("checkpoint verify: OK", cpText);
        // Proofs still work for events next to the dropped month.
        var october = (await StoreSubscription.ReadAfterAsync(ds, 0, 1, default))[0];
        Assert.True((await new ProofService(ds, TrustedKeys.Pinned([_signer.PublicKeyPem])).InclusionAsync(october.EventId, null, default)).Verified);

        var (whyExit, whyText) = await fx.AuditctlAsync(store, env, "why", approved.ToString(), "--archive", archive,
            "--trusted-key", await IntegrityKit.WritePublicKeyAsync(_signer, _work));
        Assert.True(whyExit == 0, whyText);
        Assert.Contains("archived: sealed month 2026-09", whyText);
        Assert.Contains("bob@example.com", whyText);
        Assert.Contains("verified: the archive segment verifies against the trusted key", whyText);
        // Its twin: without a key to check the segment against, an archived answer is not called verified.
        var (unpinnedExit, unpinnedText) = await fx.AuditctlAsync(store, env, "why", approved.ToString(), "--archive", archive);
        Assert.True(unpinnedExit == 3, unpinnedText);
        Assert.Contains("NOT VERIFIED: no trusted checkpoint key is configured", unpinnedText);

        // A read-model rebuild after the drop replays the archive first, then the hot store (passing the dropped hole).
        var actions = await store.CountAsync("SELECT count(*) FROM audit_read.authorizations");
        var (rebuildExit, rebuildText) = await fx.AuditctlAsync(store, env, "projections", "rebuild", "read-models", "--archive", archive);
        Assert.True(rebuildExit == 0, rebuildText);
        Assert.Contains("archived events replayed", rebuildText);
        Assert.Equal(actions, await store.CountAsync("SELECT count(*) FROM audit_read.authorizations"));
        var (hotOnlyExit, hotOnlyText) = await fx.AuditctlAsync(store, env, "projections", "rebuild", "read-models");
        Assert.True(hotOnlyExit == 0, hotOnlyText);
        Assert.True(await store.CountAsync("SELECT count(*) FROM audit_read.authorizations") < actions, "without the archive only the hot months come back");

        // The retention log records both seals and the drop, as hash-chained events.
        Assert.Equal(3, await store.CountAsync("SELECT count(*) FROM audit.events WHERE stream_id = 'retention log'"));
        var (listExit, listText) = await fx.AuditctlAsync(store, env, "archive", "list");
        Assert.Equal(0, listExit);
        Assert.Matches(new Regex(@"2026-09 .* dropped"), listText);
        Assert.Matches(new Regex(@"2026-10 .* hot"), listText);

        // Tampering with the archive after the drop is caught, and names the segment.
        var events = Path.Combine(archive, "segments", "2026", "09", BundleFormat.EventsCompressed);
        var bytes = await File.ReadAllBytesAsync(events);
        bytes[bytes.Length / 2] ^= 0x20;
        await File.WriteAllBytesAsync(events, bytes);
        var (tamperExit, tamperText) = await fx.AuditctlAsync(store, env, "verify", "--archive", archive);
        Assert.Equal(1, tamperExit);
        Assert.Contains("segment 2026-09", tamperText);
    }

    [Fact]
    public async Task A_drop_is_refused_when_the_archive_is_missing_or_corrupted_or_a_legal_hold_covers_the_month()
    {
        var (store, _, _) = await HistoryAsync();
        var archive = Path.Combine(_work, "archive");
        var env = await EnvAsync();
        Task<(int ExitCode, string Output)> Ctl(params string[] args) => fx.AuditctlAsync(store, env, args);
        Task<(int ExitCode, string Output)> Drop() => Ctl("archive", "drop", "--month", "2026-09", "--archive", archive, "--by", "ops@example.com");

        var (unsealed, unsealedText) = await Drop();
        Assert.True(unsealed == 1 && unsealedText.Contains("not sealed", StringComparison.Ordinal), unsealedText);
        Assert.Equal(0, (await Ctl("archive", "seal", "--month", "2026-09", "--archive", archive, "--by", "ops@example.com")).ExitCode);
        var segment = Path.Combine(archive, "segments", "2026", "09");

        // Missing archive.
        Directory.Move(segment, segment + ".away");
        var (missing, missingText) = await Drop();
        Assert.True(missing == 1 && missingText.Contains("missing", StringComparison.Ordinal), missingText);
        Directory.Move(segment + ".away", segment);

        // Corrupted archive.
        var events = Path.Combine(segment, BundleFormat.EventsCompressed);
        var original = await File.ReadAllBytesAsync(events);
        var corrupted = original.ToArray();
        corrupted[corrupted.Length / 3] ^= 0x01;
        await File.WriteAllBytesAsync(events, corrupted);
        var (bad, badText) = await Drop();
        Assert.True(bad == 1 && badText.Contains("does not verify", StringComparison.Ordinal), badText);
        await File.WriteAllBytesAsync(events, original);

        // A planted purge record must not switch off the content checks (or let the only copy go).
        var planted = Path.Combine(segment, BundleFormat.PurgeRecord);
        await File.WriteAllTextAsync(planted, "{\"month\":\"2026-09\",\"purgedAt\":\"2026-10-02T00:00:00Z\",\"purgedBy\":\"x\",\"removed\":[],\"reason\":\"x\"}");
        var (fake, fakeText) = await Drop();
        Assert.True(fake == 1 && fakeText.Contains("claims a purge", StringComparison.Ordinal), fakeText);
        File.Delete(planted);

        // A projection that has not seen the month yet would never see it: the drop waits for it.
        await store.ExecAsAdminAsync("INSERT INTO audit.subscription_checkpoints (name, position, updated_at) VALUES ('slow-projection', 3, now())");
        var (lag, lagText) = await Drop();
        Assert.True(lag == 1 && lagText.Contains("slow-projection at 3", StringComparison.Ordinal), lagText);
        await store.ExecAsAdminAsync("DELETE FROM audit.subscription_checkpoints WHERE name = 'slow-projection'");

        // Legal holds: by agent, by owner, by time range; one that does not overlap is no obstacle.
        var fleet = new SampleFleet(6, seed: 4);
        var holds = new List<string>();
        foreach (var hold in new[]
                 {
                     new[] { "--agent", fleet.Agents[1].Id },
                     new[] { "--owner", fleet.Agents[2].Owner! },
                     new[] { "--from", "2026-09-15T00:00:00Z", "--to", "2026-09-16T00:00:00Z" },
                 })
        {
            var (created, createdText) = await Ctl([.. new[] { "hold", "create", "--reason", "matter 42", "--by", "legal@example.com" }, .. hold]);
            Assert.True(created == 0, createdText);
            holds.Add(Regex.Match(createdText, @"hold ([0-9a-f-]{36})").Groups[1].Value);
            var (held, heldText) = await Drop();
            Assert.True(held == 1 && heldText.Contains("legal hold", StringComparison.Ordinal) && heldText.Contains("matter 42", StringComparison.Ordinal), heldText);
            Assert.Equal(0, (await Ctl("hold", "release", holds[^1], "--reason", "matter closed", "--by", "legal@example.com")).ExitCode);
        }
        Assert.Equal(0, (await Ctl("hold", "create", "--from", "2025-01-01T00:00:00Z", "--to", "2025-02-01T00:00:00Z", "--reason", "old matter", "--by", "legal@example.com")).ExitCode);
        Assert.Equal(1, await store.CountAsync("SELECT count(*) FROM pg_tables WHERE schemaname = 'audit' AND tablename = 'events_2026_09'"));

        var (dropped, droppedText) = await Drop();
        Assert.True(dropped == 0, droppedText);
        Assert.Equal(0, await store.CountAsync("SELECT count(*) FROM pg_tables WHERE schemaname = 'audit' AND tablename = 'events_2026_09'"));
        var (again, againText) = await Drop();
        Assert.True(again == 1 && againText.Contains("dropped already", StringComparison.Ordinal), againText);
        // Seal, 4 holds created, 3 released, drop: all in the retention log, which verifies.
        Assert.Equal(9, await store.CountAsync("SELECT count(*) FROM audit.events WHERE stream_id = 'retention log'"));
        var (_, holdList) = await Ctl("hold", "list");
        Assert.Contains("old matter", holdList);
        Assert.DoesNotContain("matter 42", holdList);
        // The app role alone cannot drop: the operation needs the schema owner.
        Assert.Equal(0, (await Ctl("archive", "seal", "--month", "2026-10", "--archive", archive, "--by", "ops@example.com")).ExitCode);
        var (noOwner, noOwnerText) = await fx.AuditctlAsync(store, new Dictionary<string, string>(env) { ["Store__AdminConnectionString"] = store.ConnectionString(ServiceRole.Ops) },
            "archive", "drop", "--month", "2026-10", "--archive", archive, "--by", "ops@example.com");
        Assert.True(noOwner == 1, noOwnerText);
        Assert.Contains("needs the schema owner", noOwnerText);
        Assert.Equal(1, await store.CountAsync("SELECT count(*) FROM pg_tables WHERE schemaname = 'audit' AND tablename = 'events_2026_10'"));
        Assert.Equal(0, await store.CountAsync("SELECT count(*) FROM audit.dropped_months WHERE month = '2026-10-01'"));
    }

    /// <summary>
    /// Issue 15: once a month has left the hot store, a redelivered copy of one of its events used to
    /// be taken for new; the id table refused the insert and ingest exited and crash-looped. Now the
    /// digest kept by the drop decides: same bytes, a duplicate; different, a conflict. Never an insert.
    /// </summary>
    [Fact]
    public async Task A_redelivered_event_of_a_dropped_month_is_a_duplicate_or_a_conflict_and_ingest_keeps_running()
    {
        var (store, ds, _) = await HistoryAsync();
        var september = new List<AgentActionOccurred>();
        await using (var cmd = ds.CreateCommand("SELECT payload::text FROM audit.events WHERE recorded_at < '2026-10-01' AND event_type = 'agent-action.v1' ORDER BY global_seq LIMIT 3"))
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                september.Add(ContractJson.Deserialize(System.Text.Encoding.UTF8.GetBytes(reader.GetString(0))));
            }
        }
        Assert.Equal(3, september.Count);
        var archive = Path.Combine(_work, "archive");
        var env = await EnvAsync();
        Assert.Equal(0, (await fx.AuditctlAsync(store, env, "archive", "seal", "--month", "2026-09", "--archive", archive, "--by", "ops@example.com")).ExitCode);
        var (dropExit, dropText) = await fx.AuditctlAsync(store, env, "archive", "drop", "--month", "2026-09", "--archive", archive, "--by", "ops@example.com");
        Assert.True(dropExit == 0, dropText);
        Assert.Equal(1, await store.CountAsync($"SELECT count(*) FROM audit.dropped_event_digests WHERE event_id = '{september[0].EventId}'"));
        var before = await store.CountAsync("SELECT count(*) FROM audit.events");

        // The store itself: an exact copy is a duplicate, a changed copy a conflict; nothing appended.
        static AgentActionOccurred Changed(AgentActionOccurred e) => e with { Outcome = new Outcome { Status = OutcomeStatus.Error } };
        var result = await new PostgresEventStore(ds, TimeProvider.System).AppendAsync(
            [TestEvents.Incoming(september[0], 0), TestEvents.Incoming(Changed(september[0]), 1)], [], default);
        Assert.Equal((0, 1), (result.Appended, result.Duplicates));
        Assert.Equal(AuditPipeline.Contracts.Validation.RejectCodes.ConflictingDuplicate, Assert.Single(result.Conflicts).Rejection.Code);

        // Through the ingest process, as a redelivery would come: the worker stays up and commits past them.
        var (topic, _) = fx.NewTopics(partitions: 1);
        var newcomer = new SampleFleet(1, seed: 41);
        var fresh = newcomer.Next(newcomer.Agents[0], DateTimeOffset.UtcNow);
        using (var emitter = new AgentActionEmitter(fx.Kafka.BootstrapServers, topic))
        {
            await emitter.EmitAsync(september[1]);
            await emitter.EmitAsync(Changed(september[2]));
            await emitter.EmitAsync(fresh);
        }
        await using var ingest = fx.StartIngest(store, topic, extraEnv: new Dictionary<string, string> { ["Ingest__Validation__MaxAge"] = "365.00:00:00" });
        await PipelineFixture.WaitUntilAsync(
            async () => await store.CountAsync($"SELECT count(*) FROM audit.events WHERE event_id = '{fresh.EventId}'") == 1
                        && KafkaProbe.CommittedLag(fx.Kafka.BootstrapServers, topic, "audit-ingest") == 0,
            TimeSpan.FromMinutes(2), () => Task.FromResult(ingest.Output));
        Assert.False(ingest.HasExited, ingest.Output);
        Assert.Equal(before + 1, await store.CountAsync("SELECT count(*) FROM audit.events"));
        Assert.Equal(1, await store.CountAsync($"SELECT count(*) FROM audit.quarantine WHERE source_topic = '{topic}' AND reason_code = 'conflicting_duplicate' AND event_id = '{september[2].EventId}'"));
        Assert.Equal(1, await store.CountAsync($"SELECT count(*) FROM audit.quarantine WHERE source_topic = '{topic}'"));
    }

    /// <summary>September and October 2026 (closed months), then today; the tree and read models projected.</summary>
    private async Task<(TestStore Store, NpgsqlDataSource Ds, Guid SeptemberApproved)> HistoryAsync()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        var ds = store.SeedDataSource();
        var clock = new ManualClock(new DateTimeOffset(2026, 9, 10, 12, 0, 0, TimeSpan.Zero));
        var events = new PostgresEventStore(ds, clock);
        var fleet = new SampleFleet(6, seed: 4);
        await events.AppendAsync(TestEvents.AcrossFleet(fleet, 600), [], default);
        var (denied, approved) = TestScenarios.DeniedThenApproved(fleet.Agents[0], clock.Now);
        await events.AppendAsync([TestEvents.Incoming(denied), TestEvents.Incoming(approved)], [], default);
        clock.Now = new DateTimeOffset(2026, 10, 12, 12, 0, 0, TimeSpan.Zero);
        await events.AppendAsync(TestEvents.AcrossFleet(fleet, 500), [], default);
        clock.Now = DateTimeOffset.UtcNow;
        await events.AppendAsync(TestEvents.AcrossFleet(fleet, 300), [], default);
        await IntegrityKit.ProjectTreeAsync(ds);
        await new ReadModelProjectionRunner(ds).RunAsync();
        return (store, ds, approved.EventId);
    }

    private async Task<Dictionary<string, string>> EnvAsync() =>
        new(IntegrityKit.Env(await IntegrityKit.WriteKeyAsync(_signer, _work), null));
}
