using System.Globalization;
using System.Text;
using System.Text.Json;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity;
using AuditPipeline.Integrity.Evidence;
using AuditPipeline.Integrity.Store;
using AuditPipeline.Emitter;
using AuditPipeline.IntegrationTests.Infrastructure;
using AuditPipeline.Projections;
using AuditPipeline.Testing;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Xunit;

namespace AuditPipeline.IntegrationTests;

/// <summary>Issue 6 on a real PostgreSQL: the stored tree, signed checkpoints, proofs, evidence bundles.</summary>
[Collection(PipelineCollection.Name)]
public sealed class IntegrityTests(PipelineFixture fx) : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("ap-integrity-").FullName;
    private readonly CheckpointSigner _signer = CheckpointSigner.Generate();

    public void Dispose()
    {
        _signer.Dispose();
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task Stored_tree_gives_the_rfc_roots_and_proofs_for_random_events_and_checkpoints()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var ds = store.SeedDataSource();
        var fleet = new SampleFleet(30, seed: 61);
        await IntegrityKit.LoadAsync(ds, fleet, 2000);
        await IntegrityKit.ProjectTreeAsync(ds);
        await IntegrityKit.LoadAsync(ds, fleet, 1000); // beyond the projection: rebuilt from leaves
        var memory = await IntegrityKit.InMemoryTreeAsync(ds);
        Assert.Equal(3000, memory.Size);
        Assert.Equal(7 * 256, await new StoredMerkleTree(ds).CoveredSizeAsync(default));

        var dir = Path.Combine(_work, "checkpoints");
        var service = new CheckpointService(ds, _signer, [new DirectoryCheckpointSink(dir)]);
        long[] sizes = [1, 255, 256, 257, 1000, 1792, 1793, 2049, 3000];
        var keys = new Dictionary<string, string> { [_signer.KeyId] = _signer.PublicKeyPem };
        foreach (var size in sizes)
        {
            var checkpoint = await service.CreateAsync(size, "test", default);
            Assert.Equal(Convert.ToHexStringLower(memory.Root(size)), checkpoint.RootHash);
            Assert.Null(CheckpointSigner.Verify(checkpoint.ToCheckpoint(), keys));
            Assert.True(File.Exists(Path.Combine(dir, DirectoryCheckpointSink.FileName(size))));
        }
        // Signing a size again returns the stored checkpoint; nothing is overwritten.
        var again = await service.CreateAsync(1000, "test", default);
        Assert.Equal((await new CheckpointLog(ds).BySizeAsync(1000, default))!.Signature, again.Signature);
        // Key rotation: a new key signs from now on; the old checkpoints still verify, with either key set.
        using var rotated = CheckpointSigner.Generate();
        var afterRotation = await new CheckpointService(ds, rotated, [new DirectoryCheckpointSink(dir)]).CreateAsync(2999, "test", default);
        Assert.Equal(rotated.KeyId, afterRotation.KeyId);
        var storedKeys = await new CheckpointLog(ds).PublicKeysAsync(default);
        Assert.Equal(new[] { _signer.KeyId, rotated.KeyId }.Order(), storedKeys.Keys.Order());
        var all = await new CheckpointLog(ds).ListAsync(long.MaxValue, 100, default);
        var verification = await new CheckpointVerifier(ds).VerifyAsync(all, TrustedKeys.Pinned([_signer.PublicKeyPem, rotated.PublicKeyPem]), null, default);
        Assert.True(verification.Ok);
        Assert.Equal(sizes.Length + 1, verification.Checks.Count);
        // Trusting only the old key: the old checkpoints verify, the one signed after the rotation does not.
        var oldKeyOnly = await new CheckpointVerifier(ds).VerifyAsync(all, TrustedKeys.Pinned([_signer.PublicKeyPem]), null, default);
        Assert.Equal([2999L], oldKeyOnly.Checks.Where(c => c.SignatureProblem is not null).Select(c => c.Checkpoint.Size));
        var (files, dirKeys) = DirectoryCheckpointSink.Read(dir);
        Assert.Equal(sizes.Append(2999L).Order(), files.Select(f => f.Size));
        Assert.Equal(_signer.PublicKeyPem, dirKeys[_signer.KeyId]);
        Assert.Equal(rotated.PublicKeyPem, dirKeys[rotated.KeyId]);

        var proofs = new ProofService(ds, TrustedKeys.Pinned([_signer.PublicKeyPem]));
        var events = await StoreSubscription.ReadAfterAsync(ds, 0, 3000, default);
        var random = new Random(7);
        for (var i = 0; i < 40; i++)
        {
            var e = events[random.Next(events.Count)];
            var size = sizes.Where(s => s >= e.GlobalSeq).OrderBy(_ => random.Next()).First();
            var proof = await proofs.InclusionAsync(e.EventId, size, default);
            Assert.True(proof.Verified);
            Assert.Equal(memory.InclusionProof(e.GlobalSeq - 1, size).Select(Convert.ToHexStringLower), proof.Proof);
            // Checked independently, from the document alone.
            Assert.True(MerkleProofs.VerifyInclusion(proof.LeafIndex, proof.TreeSize, Convert.FromHexString(proof.LeafHash),
                proof.Proof.Select(Convert.FromHexString).ToList(), Convert.FromHexString(proof.Checkpoint.RootHash)));
            Assert.Equal(StoredMerkleTree.LeafHash(e.GlobalSeq, e.Hash), Convert.FromHexString(proof.LeafHash));
        }
        var latest = await proofs.InclusionAsync(events[^1].EventId, null, default);
        Assert.Equal(3000, latest.TreeSize);
        var early = await Assert.ThrowsAsync<ProofUnavailableException>(() => proofs.InclusionAsync(events[300].EventId, 256, default));
        Assert.Contains("after checkpoint 256", early.Message);

        foreach (var a in sizes)
        {
            foreach (var b in sizes.Where(b => b >= a))
            {
                var consistency = await proofs.ConsistencyAsync(a, b, default);
                Assert.True(consistency.Verified, $"{a} -> {b}");
                Assert.Equal(memory.ConsistencyProof(a, b).Select(Convert.ToHexStringLower), consistency.Proof);
                Assert.NotNull(consistency.OldCheckpoint);
            }
        }
    }

    [Fact]
    public async Task Consistency_proofs_fail_between_forked_logs()
    {
        var original = await fx.Postgres.CreateStoreAsync();
        var forked = await fx.Postgres.CreateStoreAsync();
        await using var a = original.SeedDataSource();
        await using var b = forked.SeedDataSource();
        await IntegrityKit.LoadAsync(a, new SampleFleet(5, seed: 1), 600);
        await IntegrityKit.LoadAsync(b, new SampleFleet(5, seed: 2), 600);
        var signedA = await new CheckpointService(a, _signer, []).CreateAsync(300, "test", default);

        var grownA = await new ProofService(a, TrustedKeys.Pinned([_signer.PublicKeyPem])).ConsistencyAsync(300, 600, default);
        Assert.True(grownA.Verified);
        var fromFork = await new ProofService(b, TrustedKeys.Pinned([_signer.PublicKeyPem])).ConsistencyAsync(300, 600, default);
        Assert.True(fromFork.Verified); // consistent with itself...
        Assert.NotEqual(signedA.RootHash, fromFork.OldRoot);
        // ...but not with what the original log signed at 300.
        Assert.False(MerkleProofs.VerifyConsistency(300, 600, Convert.FromHexString(signedA.RootHash), Convert.FromHexString(fromFork.NewRoot),
            fromFork.Proof.Select(Convert.FromHexString).ToList()));
    }

    [Fact]
    public async Task A_superuser_edit_after_a_checkpoint_is_detected_against_it_even_when_the_chain_is_recomputed()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var ds = store.SeedDataSource();
        var fleet = new SampleFleet(8, seed: 17);
        await IntegrityKit.LoadAsync(ds, fleet, 2000);
        await IntegrityKit.ProjectTreeAsync(ds);
        var keyFile = await WriteKeyAsync();
        var dir = Path.Combine(_work, "offsite");
        var env = IntegrityKit.Env(keyFile, dir);
        var (signedExit, signedOut) = await fx.AuditctlAsync(store, env, "checkpoint", "create");
        Assert.True(signedExit == 0, signedOut);
        var trusted = await IntegrityKit.WritePublicKeyAsync(_signer, _work);
        Assert.Equal(0, (await fx.AuditctlAsync(store, env, "checkpoint", "verify", "--trusted-key", trusted)).ExitCode);

        // The attacker edits one event and re-chains the rest of its agent's chain and its head,
        // so that the chains verify again.
        var victim = fleet.Agents[3].Id;
        var position = await IntegrityKit.RewriteChainAsync(store, victim, version: 40);
        Assert.Equal(0, (await fx.AuditctlAsync(store, "verify")).ExitCode);

        var (exit, output) = await fx.AuditctlAsync(store, env, "checkpoint", "verify", "--trusted-key", trusted);
        Assert.True(exit == 1, output);
        Assert.Contains("checkpoint 2000", output);
        Assert.Contains("MISMATCH", output);
        var block = System.Text.RegularExpressions.Regex.Match(output, @"first change: log positions (\d+)\.\.(\d+)");
        Assert.True(block.Success, output);
        Assert.InRange(position, long.Parse(block.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(block.Groups[2].Value, CultureInfo.InvariantCulture));
        // The copies kept off the database host say the same.
        var (dirExit, dirOutput) = await fx.AuditctlAsync(store, env, "checkpoint", "verify", "--dir", dir, "--trusted-key", trusted);
        Assert.True(dirExit == 1, dirOutput);
        Assert.Contains("MISMATCH", dirOutput);
    }

    [Fact]
    public async Task Projection_worker_keeps_the_tree_across_a_kill_and_signs_checkpoints_to_table_directory_and_topic()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var ds = store.SeedDataSource();
        var fleet = new SampleFleet(10, seed: 23);
        var topic = $"audit-checkpoints-{Guid.NewGuid():N}";
        fx.Kafka.CreateTopic(topic, 1);
        var keyFile = await WriteKeyAsync();
        var dir = Path.Combine(_work, "worker-checkpoints");
        using var http = new HttpClient();
        await new AuditPipeline.ClickHouse.ClickHouseClient(http, fx.ClickHouse.HttpUri).ExecuteAsync($"CREATE DATABASE IF NOT EXISTS {store.Database}", default);
        var env = new Dictionary<string, string>(IntegrityKit.Env(keyFile, dir))
        {
            ["Store__ConnectionString"] = store.ConnectionString(ServiceRole.Projector),
            ["ClickHouse__Url"] = $"{fx.ClickHouse.HttpUri}?database={store.Database}",
            ["Kafka__BootstrapServers"] = fx.Kafka.BootstrapServers,
            ["Integrity__CheckpointTopic"] = topic,
            ["Integrity__CheckpointIntervalSeconds"] = "1",
            ["Projections__BatchSize"] = "700",
            ["Projections__MaxRetryDelayMs"] = "500",
        };
        await IntegrityKit.LoadAsync(ds, fleet, 3000);
        var worker = ChildProcess.StartDotnet(RepoPaths.ProjectionsDll, env);
        await PipelineFixture.WaitUntilAsync(async () => await StoreSubscription.ReadCheckpointAsync(ds, MerkleTreeProjection.SubscriptionName, default) >= 1400,
            TimeSpan.FromSeconds(60), () => Task.FromResult(worker.Output));
        worker.Kill();
        await IntegrityKit.LoadAsync(ds, fleet, 2000);
        await using var restarted = ChildProcess.StartDotnet(RepoPaths.ProjectionsDll, env);
        // Stored first, then written to the directory and published.
        await PipelineFixture.WaitUntilAsync(async () => (await new CheckpointLog(ds).LatestAsync(default))?.Size == 5000 && File.Exists(Path.Combine(dir, DirectoryCheckpointSink.FileName(5000))),
            TimeSpan.FromSeconds(60), () => Task.FromResult(restarted.Output));

        var memory = await IntegrityKit.InMemoryTreeAsync(ds);
        var tree = new StoredMerkleTree(ds);
        Assert.Equal(19 * 256, await tree.CoveredSizeAsync(default));
        // Every stored node equals the in-memory tree's: nothing was written twice differently.
        await using (var cmd = ds.CreateCommand("SELECT level, idx, hash FROM audit.merkle_nodes"))
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            var nodes = 0;
            while (await reader.ReadAsync())
            {
                Assert.Equal(memory.Node(reader.GetInt16(0), reader.GetInt64(1)), reader.GetFieldValue<byte[]>(2));
                nodes++;
            }
            Assert.Equal(19 + 9 + 4 + 2 + 1, nodes);
        }
        var checkpoints = await new CheckpointLog(ds).ListAsync(long.MaxValue, 100, default);
        Assert.All(checkpoints, c => Assert.Equal(Convert.ToHexStringLower(memory.Root(c.Size)), c.RootHash));
        Assert.Contains(checkpoints, c => c.Size == 5000);

        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = fx.Kafka.BootstrapServers, GroupId = "checkpoint-probe", AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe(topic);
        var published = new List<CheckpointDocument>();
        for (var deadline = DateTime.UtcNow.AddSeconds(20); DateTime.UtcNow < deadline && published.All(p => p.Size != 5000);)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(500)) is { } m)
            {
                published.Add(CheckpointDocument.Parse(m.Message.Value));
                Assert.Equal(published[^1].Size.ToString(CultureInfo.InvariantCulture), m.Message.Key);
            }
        }
        var last = Assert.Single(published, p => p.Size == 5000);
        Assert.Null(CheckpointSigner.Verify(last.ToCheckpoint(), new Dictionary<string, string> { [last.KeyId] = last.PublicKeyPem! }));
        Assert.DoesNotContain("PRIVATE KEY", restarted.Output + worker.Output);
    }

    [Fact]
    public async Task A_bundle_verifies_offline_and_every_kind_of_tampering_is_detected_and_named()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var ds = store.SeedDataSource();
        var fleet = new SampleFleet(12, seed: 5);
        var from = DateTimeOffset.UtcNow.AddMinutes(-1);
        await IntegrityKit.LoadAsync(ds, fleet, 1500);
        var incident = Guid.NewGuid();
        var alerts = new AlertLog(ds, new PostgresEventStore(ds, TimeProvider.System));
        await alerts.AppendAsync([TestScenarios.VolumeAlert(incident, fleet.Agents[2].Id, DateTimeOffset.UtcNow), TestScenarios.VolumeAlert(incident, fleet.Agents[2].Id, DateTimeOffset.UtcNow, AlertChange.Acknowledged, "carol@example.com")], default);
        await IntegrityKit.LoadAsync(ds, fleet, 500);
        await IntegrityKit.ProjectTreeAsync(ds);
        var keyFile = await WriteKeyAsync();
        var env = IntegrityKit.Env(keyFile, Path.Combine(_work, "cp"));
        var to = DateTimeOffset.UtcNow.AddMinutes(1);
        var bundle = Path.Combine(_work, "bundle");
        var (exportExit, exportOut) = await fx.AuditctlAsync(store, env, "export", "--from", from.ToString("O"), "--to", to.ToString("O"), "--out", bundle);
        Assert.True(exportExit == 0, exportOut);
        Assert.Contains("export: 2002 events", exportOut);
        var trusted = await IntegrityKit.WritePublicKeyAsync(_signer, _work);
        var pinned = TrustedKeys.Pinned([_signer.PublicKeyPem]);
        var (verifyExit, verifyOut) = await fx.AuditctlAsync(store, new Dictionary<string, string>(), "verify-bundle", bundle, "--trusted-key", trusted);
        Assert.True(verifyExit == 0, verifyOut);
        Assert.Contains($"signed by key {_signer.KeyId} (the trusted key)", verifyOut);

        // The contents: canonical events in log order, a why-authorized chain per action, the summary.
        var lines = await File.ReadAllLinesAsync(Path.Combine(bundle, BundleFormat.Events));
        Assert.Equal(2002, lines.Length);
        var stored = await StoreSubscription.ReadAfterAsync(ds, 0, 5000, default);
        Assert.Equal(stored.Select(e => Encoding.UTF8.GetString(e.Payload)), lines.Select(l => l[(l.IndexOf("\"event\":", StringComparison.Ordinal) + 8)..^1]));
        var why = (await File.ReadAllLinesAsync(Path.Combine(bundle, BundleFormat.WhyAuthorized))).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2000, why.Count);
        var delegated = why.First(w => w.GetProperty("path").EnumerateArray().Any(p => p.GetProperty("kind").GetString() == "approval"));
        var kinds = delegated.GetProperty("path").EnumerateArray().Select(p => p.GetProperty("kind").GetString()).ToList();
        foreach (var kind in new[] { "human", "agent", "action", "decision", "policy", "approval" })
        {
            Assert.Contains(kind, kinds);
        }
        Assert.True(kinds.IndexOf("human") < kinds.IndexOf("agent") && kinds.IndexOf("decision") < kinds.IndexOf("approval"), string.Join(" → ", kinds));
        var alertsCsv = await File.ReadAllTextAsync(Path.Combine(bundle, BundleFormat.SummaryAlerts));
        Assert.Contains($"{incident},{fleet.Agents[2].Id},high", alertsCsv);
        Assert.Contains("carol@example.com", alertsCsv);
        var agentsCsv = (await File.ReadAllLinesAsync(Path.Combine(bundle, BundleFormat.SummaryAgents))).Skip(1).ToList();
        Assert.Equal(12, agentsCsv.Count);
        Assert.Equal(2000, agentsCsv.Sum(l => long.Parse(l.Split(',')[4], CultureInfo.InvariantCulture)));
        Assert.Contains("<h2>Alerts</h2>", await File.ReadAllTextAsync(Path.Combine(bundle, BundleFormat.SummaryHtml)));

        // Flip a byte anywhere in any file: detected, and the problem names the file.
        var random = new Random(11);
        // (The proof is empty here: the bundle holds every event of the log, so nothing needs a subtree.)
        Assert.Equal(0, new FileInfo(Path.Combine(bundle, BundleFormat.Proof)).Length);
        foreach (var file in Directory.GetFiles(bundle).Select(Path.GetFileName).Where(f => new FileInfo(Path.Combine(bundle, f!)).Length > 0))
        {
            var length = new FileInfo(Path.Combine(bundle, file!)).Length;
            foreach (var offset in Enumerable.Range(0, 6).Select(_ => random.NextInt64(length)).Append(0).Append(length - 1))
            {
                var copy = IntegrityKit.Copy(bundle, Path.Combine(_work, "t"));
                var bytes = await File.ReadAllBytesAsync(Path.Combine(copy, file!));
                bytes[offset] ^= (byte)(1 << random.Next(8));
                await File.WriteAllBytesAsync(Path.Combine(copy, file!), bytes);
                var report = (await BundleVerifier.VerifyAsync(copy, pinned));
                Assert.False(report.Ok, $"flipped byte {offset} of {file} went unnoticed");
                Assert.Contains(report.Problems, p => p.Contains(file!, StringComparison.Ordinal) || (file == BundleFormat.Manifest && p.Contains(BundleFormat.ManifestSignature, StringComparison.Ordinal)));
            }
        }

        // Drop an event: the chain gap and the uncovered position are named.
        var dropped = IntegrityKit.Copy(bundle, Path.Combine(_work, "t"));
        var victim = JsonDocument.Parse(lines[700]).RootElement;
        await File.WriteAllLinesAsync(Path.Combine(dropped, BundleFormat.Events), lines.Where((_, i) => i != 700));
        var dropReport = (await BundleVerifier.VerifyAsync(dropped, pinned));
        Assert.Contains(dropReport.Problems, p => p.Contains($"chain '{victim.GetProperty("stream").GetString()}'", StringComparison.Ordinal) && p.Contains("removed", StringComparison.Ordinal));
        Assert.Contains(dropReport.Problems, p => p.Contains($"log positions {victim.GetProperty("position").GetInt64()}..", StringComparison.Ordinal));

        // Reorder two events: named by position.
        var reordered = IntegrityKit.Copy(bundle, Path.Combine(_work, "t"));
        var swapped = lines.ToArray();
        (swapped[900], swapped[901]) = (swapped[901], swapped[900]);
        await File.WriteAllLinesAsync(Path.Combine(reordered, BundleFormat.Events), swapped);
        var reorderReport = (await BundleVerifier.VerifyAsync(reordered, pinned));
        Assert.Contains(reorderReport.Problems, p => p.Contains($"events.jsonl line 902", StringComparison.Ordinal) && p.Contains("reordered", StringComparison.Ordinal));

        // Swap the public key (and re-sign nothing): named as a swapped key even when only self-signed is accepted, and as not the trusted key when pinned.
        var rekeyed = IntegrityKit.Copy(bundle, Path.Combine(_work, "t"));
        using var other = CheckpointSigner.Generate();
        await File.WriteAllTextAsync(Path.Combine(rekeyed, BundleFormat.PublicKey), other.PublicKeyPem);
        var keyReport = (await BundleVerifier.VerifyAsync(rekeyed, TrustedKeys.SelfSigned()));
        Assert.Contains(keyReport.Problems, p => p.Contains("swapped", StringComparison.Ordinal) && p.Contains(other.KeyId, StringComparison.Ordinal));
        Assert.Contains((await BundleVerifier.VerifyAsync(rekeyed, pinned)).Problems, p => p.StartsWith($"{BundleFormat.PublicKey}: is not the trusted key {_signer.KeyId}", StringComparison.Ordinal));
        // The untouched bundle is rejected under another trusted key (TrustedKeyTests has the re-signed forgeries).
        Assert.False((await BundleVerifier.VerifyAsync(bundle, TrustedKeys.Pinned([other.PublicKeyPem]))).Ok);
        Assert.True((await BundleVerifier.VerifyAsync(bundle, pinned)).Ok);

        // The CLI names the problem too, with exit 1.
        var (badExit, badOut) = await fx.AuditctlAsync(store, new Dictionary<string, string>(), "verify-bundle", reordered, "--trusted-key", trusted);
        Assert.Equal(1, badExit);
        Assert.Contains("FAILED", badOut);
    }

    [Fact]
    public async Task A_bundle_for_some_agents_or_owners_proves_scattered_events_and_carries_their_alerts()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var ds = store.SeedDataSource();
        var fleet = new SampleFleet(9, seed: 8);
        var from = DateTimeOffset.UtcNow.AddMinutes(-1);
        await IntegrityKit.LoadAsync(ds, fleet, 3000);
        var chosen = fleet.Agents[4];
        var incident = Guid.NewGuid();
        await new AlertLog(ds, new PostgresEventStore(ds, TimeProvider.System)).AppendAsync([TestScenarios.VolumeAlert(incident, chosen.Id, DateTimeOffset.UtcNow)], default);
        await IntegrityKit.LoadAsync(ds, fleet, 1000);
        await IntegrityKit.ProjectTreeAsync(ds);
        await new ReadModelProjectionRunner(ds).RunAsync();
        var env = IntegrityKit.Env(await WriteKeyAsync(), null);
        var window = new[] { "--from", from.ToString("O"), "--to", DateTimeOffset.UtcNow.AddMinutes(1).ToString("O") };

        var byAgent = Path.Combine(_work, "agent");
        var (exit, output) = await fx.AuditctlAsync(store, env, [.. new[] { "export", "--agent", chosen.Id, "--out", byAgent }, .. window]);
        Assert.True(exit == 0, output);
        var expected = await store.CountAsync($"SELECT count(*) FROM audit.events WHERE stream_id = '{chosen.Id}'");
        var lines = await File.ReadAllLinesAsync(Path.Combine(byAgent, BundleFormat.Events));
        Assert.Equal(expected + 1, lines.Length);
        Assert.Single(lines, l => l.Contains("\"eventType\":\"agent-alert.v1\"", StringComparison.Ordinal));
        var pinned = TrustedKeys.Pinned([_signer.PublicKeyPem]);
        var report = (await BundleVerifier.VerifyAsync(byAgent, pinned));
        Assert.True(report.Ok, string.Join("\n", report.Problems));
        Assert.True(report.ProofNodes > 100, $"{report.ProofNodes} proof nodes"); // the other agents' events are covered by subtrees

        var byOwner = Path.Combine(_work, "owner");
        var owner = chosen.Owner!;
        (exit, output) = await fx.AuditctlAsync(store, env, [.. new[] { "export", "--owner", owner, "--out", byOwner }, .. window]);
        Assert.True(exit == 0, output);
        var ownerAgents = fleet.Agents.Where(a => a.Owner == owner).Select(a => a.Id).ToList();
        var ownerReport = (await BundleVerifier.VerifyAsync(byOwner, pinned));
        Assert.True(ownerReport.Ok, string.Join("\n", ownerReport.Problems));
        Assert.Equal(await store.CountAsync($"SELECT count(*) FROM audit.events WHERE stream_id IN ({string.Join(',', ownerAgents.Select(a => $"'{a}'"))})") + 1, ownerReport.Events);

        // Asking for an existing folder, or an empty range, is refused with a reason.
        var (again, againOut) = await fx.AuditctlAsync(store, env, [.. new[] { "export", "--agent", chosen.Id, "--out", byAgent }, .. window]);
        Assert.Equal(2, again);
        Assert.Contains("not empty", againOut);
        var (noKey, noKeyOut) = await fx.AuditctlAsync(store, new Dictionary<string, string>(), [.. new[] { "export", "--out", Path.Combine(_work, "nokey") }, .. window]);
        Assert.Equal(2, noKey);
        Assert.Contains("Integrity:SigningKeyFile", noKeyOut);
    }

    [Fact]
    public async Task Export_of_a_million_events_runs_in_bounded_memory_and_verifies()
    {
        const int events = 1_000_000;
        var store = await fx.Postgres.CreateStoreAsync();
        await using var ds = store.SeedDataSource();
        var from = DateTimeOffset.UtcNow.AddMinutes(-1);
        await IntegrityKit.LoadAsync(ds, new SampleFleet(200, seed: 3), events);
        await IntegrityKit.ProjectTreeAsync(ds);
        var env = IntegrityKit.Env(await WriteKeyAsync(), null);
        var bundle = Path.Combine(_work, "million");
        var (exit, output) = await ChildProcess.RunDotnetAsync(RepoPaths.AuditctlDll, new Dictionary<string, string>(env)
        {
            ["Store__ConnectionString"] = store.ConnectionString(ServiceRole.Ops),
        }, TimeSpan.FromMinutes(10), "export", "--from", from.ToString("O"), "--to", DateTimeOffset.UtcNow.AddMinutes(1).ToString("O"), "--out", bundle);
        Assert.True(exit == 0, output);
        Assert.Contains($"export: {events} events", output);
        var peak = double.Parse(System.Text.RegularExpressions.Regex.Match(output, @"peak memory (\d+) MB").Groups[1].Value, CultureInfo.InvariantCulture);
        var bundleMb = new DirectoryInfo(bundle).GetFiles().Sum(f => f.Length) / 1e6;
        // The bundle is over a gigabyte; the exporter holds a page at a time.
        Assert.True(bundleMb > 1000, $"bundle {bundleMb:0} MB");
        Assert.True(peak < 400, $"peak RSS {peak} MB for a {bundleMb:0} MB bundle");

        var (verifyExit, verifyOut) = await ChildProcess.RunDotnetAsync(RepoPaths.AuditctlDll, new Dictionary<string, string>(), TimeSpan.FromMinutes(10), "verify-bundle", bundle, "--trusted-key", await IntegrityKit.WritePublicKeyAsync(_signer, _work));
        Assert.True(verifyExit == 0, verifyOut);
        Assert.Contains($"OK, {events} events", verifyOut);
        Directory.Delete(bundle, recursive: true);
    }

    private Task<string> WriteKeyAsync() => IntegrityKit.WriteKeyAsync(_signer, _work);
}

/// <summary>Runs the read-model projection once to the head (the owner → agents lookup of exports uses it).</summary>
internal sealed class ReadModelProjectionRunner(NpgsqlDataSource ds)
{
    public Task RunAsync() => new StoreSubscription(ds, ReadModelProjection.SubscriptionName, new ReadModelProjection(ds).HandleAsync,
        new SubscriptionOptions { StopWhenCaughtUp = true }).RunAsync(default);
}

internal static class IntegrityKit
{
    public static async Task LoadAsync(NpgsqlDataSource ds, SampleFleet fleet, int count)
    {
        var store = new PostgresEventStore(ds, TimeProvider.System);
        for (var done = 0; done < count;)
        {
            var n = Math.Min(5000, count - done);
            await store.AppendAsync(Enumerable.Range(done, n)
                .Select(i => TestEvents.Incoming(fleet.Next(fleet.Agents[i % fleet.Agents.Count], DateTimeOffset.UtcNow), i)).ToList(), [], default);
            done += n;
        }
    }

    public static Task ProjectTreeAsync(NpgsqlDataSource ds) =>
        new StoreSubscription(ds, MerkleTreeProjection.SubscriptionName, new MerkleTreeProjection(ds, NullLogger.Instance).HandleAsync,
            new SubscriptionOptions { StopWhenCaughtUp = true, BatchSize = 20_000 }).RunAsync(default);

    public static async Task<MerkleTree> InMemoryTreeAsync(NpgsqlDataSource ds)
    {
        var tree = new MerkleTree();
        var size = await new StoredMerkleTree(ds).LogSizeAsync(default);
        await foreach (var (position, hash) in StoredMerkleTree.ReadLeavesAsync(ds, 1, size, default))
        {
            tree.Append(StoredMerkleTree.LeafHash(position, hash));
        }
        return tree;
    }

    /// <summary>The signer's private key as a PEM file in <paramref name="folder"/> (what Integrity__SigningKeyFile points at).</summary>
    public static async Task<string> WriteKeyAsync(CheckpointSigner signer, string folder)
    {
        var path = Path.Combine(folder, $"signing-{Guid.NewGuid():N}.pem");
        await File.WriteAllTextAsync(path, signer.ExportPrivateKeyPem());
        return path;
    }

    /// <summary>The signer's public key as a PEM file: what an auditor or operator passes to --trusted-key.</summary>
    public static async Task<string> WritePublicKeyAsync(CheckpointSigner signer, string folder)
    {
        var path = Path.Combine(folder, $"trusted-{Guid.NewGuid():N}.pub.pem");
        await File.WriteAllTextAsync(path, signer.PublicKeyPem);
        return path;
    }

    public static IReadOnlyDictionary<string, string> Env(string keyFile, string? checkpointDirectory) => new Dictionary<string, string>
    {
        ["Integrity__SigningKeyFile"] = keyFile,
        ["Integrity__CheckpointDirectory"] = checkpointDirectory ?? "",
        ["Integrity__CheckpointTopic"] = "",
    };

    /// <summary>As a superuser with triggers off: change one event's payload, recompute its hash and every later one of its chain, and move the head. Returns its position.</summary>
    public static async Task<long> RewriteChainAsync(TestStore store, string agent, long version)
    {
        await using var admin = store.AdminDataSource();
        await using var conn = await admin.OpenConnectionAsync();
        await using (var off = new NpgsqlCommand("SET session_replication_role = replica", conn))
        {
            await off.ExecuteNonQueryAsync();
        }
        var chain = new List<(long Seq, long Version, Guid Id, string Type, DateTimeOffset At, string Payload, byte[] Prev)>();
        await using (var read = new NpgsqlCommand("SELECT global_seq, version, event_id, event_type, recorded_at, payload::text, prev_hash FROM audit.events WHERE stream_id = @s ORDER BY version", conn))
        {
            read.Parameters.AddWithValue("s", agent);
            await using var reader = await read.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                chain.Add((reader.GetInt64(0), reader.GetInt64(1), reader.GetGuid(2), reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4), reader.GetString(5), reader.GetFieldValue<byte[]>(6)));
            }
        }
        var prev = chain.First(c => c.Version == version).Prev;
        byte[] hash = [];
        foreach (var e in chain.Where(c => c.Version >= version))
        {
            var payload = e.Version == version ? e.Payload.Replace("\"operation\":\"", "\"operation\":\"x", StringComparison.Ordinal) : e.Payload;
            hash = ChainHash.Compute(prev, agent, e.Version, e.Id, e.Type, e.At, Encoding.UTF8.GetBytes(payload));
            await using var update = new NpgsqlCommand("UPDATE audit.events SET payload = @p::json, prev_hash = @prev, hash = @h WHERE global_seq = @seq", conn);
            update.Parameters.AddWithValue("p", payload);
            update.Parameters.AddWithValue("prev", prev);
            update.Parameters.AddWithValue("h", hash);
            update.Parameters.AddWithValue("seq", e.Seq);
            await update.ExecuteNonQueryAsync();
            prev = hash;
        }
        await using (var head = new NpgsqlCommand("UPDATE audit.stream_heads SET hash = @h WHERE stream_id = @s", conn))
        {
            head.Parameters.AddWithValue("h", hash);
            head.Parameters.AddWithValue("s", agent);
            await head.ExecuteNonQueryAsync();
        }
        return chain.First(c => c.Version == version).Seq;
    }

    public static string Copy(string bundle, string parent)
    {
        var target = Path.Combine(parent, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(bundle))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }
        return target;
    }
}
