using System.Security.Cryptography;
using AuditPipeline.Integrity;
using AuditPipeline.Integrity.Evidence;
using AuditPipeline.Emitter;
using AuditPipeline.IntegrationTests.Infrastructure;
using AuditPipeline.Testing;
using Xunit;

namespace AuditPipeline.IntegrationTests;

/// <summary>
/// Issue 8, redaction: the real ingest process encrypts prompt text under per-subject keys before
/// it hashes and stores events (Kafka over TCP, real PostgreSQL); crypto-shredding one subject makes
/// exactly its fields unreadable while every chain, checkpoint and evidence bundle still verifies.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class RedactionTests(PipelineFixture fx) : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("ap-redaction-").FullName;
    private readonly CheckpointSigner _signer = CheckpointSigner.Generate();

    public void Dispose()
    {
        _signer.Dispose();
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task Subject_keygen_writes_an_owner_only_master_key_and_never_overwrites_one()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        var path = Path.Combine(_work, "keys", "master.key");
        var (exit, output) = await fx.AuditctlAsync(store, "subject", "keygen", "--out", path);
        Assert.True(exit == 0, output);
        Assert.Equal(32, Convert.FromBase64String(await File.ReadAllTextAsync(path)).Length);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
        Assert.DoesNotContain(await File.ReadAllTextAsync(path), output);
        var before = await File.ReadAllTextAsync(path);
        (exit, output) = await fx.AuditctlAsync(store, "subject", "keygen", "--out", path);
        Assert.True(exit == 2 && output.Contains("never overwritten", StringComparison.Ordinal), output);
        Assert.Equal(before, await File.ReadAllTextAsync(path));
        // A key that is not 32 bytes is refused by name, without echoing it.
        (exit, output) = await fx.AuditctlAsync(store, new Dictionary<string, string> { ["Redaction__MasterKey"] = "c2hvcnQ=" }, "subject", "show", "--subject", "x");
        Assert.True(exit == 2 && output.Contains("Redaction:MasterKey) must be 32 bytes", StringComparison.Ordinal) && !output.Contains("c2hvcnQ=", StringComparison.Ordinal), output);
    }

    [Fact]
    public async Task Crypto_shredding_a_subject_makes_its_fields_unreadable_while_chains_checkpoints_and_bundles_still_verify()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var ds = store.SeedDataSource();
        var (topic, _) = fx.NewTopics(4);
        var masterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var redaction = new Dictionary<string, string> { ["Redaction__MasterKey"] = masterKey };
        var fleet = new SampleFleet(4, seed: 9); // owners (and so subjects) alice, bob, carol, dan
        var produced = new List<AuditPipeline.Contracts.AgentActionOccurred>();
        using (var emitter = new AgentActionEmitter(fx.Kafka.BootstrapServers, topic))
        {
            for (var i = 0; i < 400; i++)
            {
                var e = fleet.Next(fleet.Agents[i % 4], DateTimeOffset.UtcNow);
                produced.Add(e);
                emitter.Enqueue(e, _ => { });
            }
            Assert.Equal(0, emitter.Flush(TimeSpan.FromMinutes(1)));
        }

        await using (var ingest = fx.StartIngest(store, topic, extraEnv: redaction))
        {
            await PipelineFixture.WaitUntilAsync(async () => await store.CountAsync("SELECT count(*) FROM audit.events") >= 400, TimeSpan.FromMinutes(2),
                async () => $"{await store.CountAsync("SELECT count(*) FROM audit.events")} of 400 stored\n{ingest.Output}");
            Assert.Contains("Redaction on: encrypting [action.input, outcome.message]", ingest.Output);
            Assert.DoesNotContain(masterKey, ingest.Output);
        }
        // Stored (and hashed) only in encrypted form: no prompt text anywhere in the event store.
        Assert.Equal(0, await store.CountAsync("SELECT count(*) FROM audit.events WHERE payload::text LIKE '%asked about%'"));
        Assert.Equal(400, await store.CountAsync("SELECT count(*) FROM audit.events WHERE payload->'action'->>'input' LIKE 'enc:v1:%'"));
        Assert.Equal(4, await store.CountAsync("SELECT count(*) FROM audit.subject_keys WHERE wrapped_key IS NOT NULL"));

        // Redelivery of every message (a new consumer group reads the topic again) deduplicates exactly:
        // encryption is deterministic per event, field and key.
        await using (var again = fx.StartIngest(store, topic, group: "replay", extraEnv: redaction))
        {
            // Done when the replay group has committed past all 400 messages (offsets commit only after the append).
            await PipelineFixture.WaitUntilAsync(() => Task.FromResult(CommittedMessages(topic, "replay", 4) >= 400), TimeSpan.FromMinutes(1),
                () => Task.FromResult($"replay committed {CommittedMessages(topic, "replay", 4)} of 400\n{again.Output}"));
        }
        Assert.Equal(400, await store.CountAsync("SELECT count(*) FROM audit.events"));
        Assert.Equal(0, await store.CountAsync("SELECT count(*) FROM audit.quarantine"));

        await new ReadModelProjectionRunner(ds).RunAsync();
        var env = new Dictionary<string, string>(IntegrityKit.Env(await IntegrityKit.WriteKeyAsync(_signer, _work), null)) { ["Redaction__MasterKey"] = masterKey };
        var alices = produced.Where(e => e.Delegation.OnBehalfOf == "alice@example.com").ToList();
        var bobs = produced.Where(e => e.Delegation.OnBehalfOf == "bob@example.com").ToList();
        var alice = alices[0].EventId.ToString();
        var bob = bobs[0].EventId.ToString();

        var (whyExit, whyText) = await fx.AuditctlAsync(store, env, "why", alice);
        Assert.True(whyExit == 0, whyText);
        Assert.Contains($"input     {alices[0].Action.Input}", whyText);
        Assert.Contains("redaction decrypted action.input", whyText);
        var (noKeyExit, noKeyText) = await fx.AuditctlAsync(store, "why", alice);
        Assert.True(noKeyExit == 0, noKeyText);
        Assert.DoesNotContain("asked about", noKeyText);
        Assert.Contains("encrypted fields shown as stored", noKeyText);

        // Shred alice: the schema owner destroys her key, and the retention log records it without her name.
        var (shredExit, shredText) = await fx.AuditctlAsync(store, env, "subject", "shred", "--subject", "alice@example.com", "--by", "dpo@example.com", "--reason", "erasure request 42");
        Assert.True(shredExit == 0, shredText);
        Assert.Equal(1, await store.CountAsync("SELECT count(*) FROM audit.subject_keys WHERE wrapped_key IS NULL AND shredded_by = 'dpo@example.com'"));
        Assert.Equal(1, await store.CountAsync("SELECT count(*) FROM audit.events WHERE stream_id = 'retention log' AND payload->>'action' = 'subject_shredded' AND payload::text NOT LIKE '%alice%'"));
        var (againExit, againText) = await fx.AuditctlAsync(store, env, "subject", "shred", "--subject", "alice@example.com", "--by", "dpo@example.com", "--reason", "twice");
        Assert.True(againExit == 1 && againText.Contains("no live key", StringComparison.Ordinal), againText);
        var (showExit, showText) = await fx.AuditctlAsync(store, env, "subject", "show", "--subject", "alice@example.com");
        Assert.True(showExit == 0 && showText.Contains("SHREDDED", StringComparison.Ordinal), showText);
        var (appExit, appText) = await fx.AuditctlAsync(store, new Dictionary<string, string>(env) { ["Store__AdminConnectionString"] = store.ConnectionString(ServiceRole.Ops) },
            "subject", "shred", "--subject", "bob@example.com", "--by", "x", "--reason", "the app role may not shred");
        Assert.True(appExit == 2 && appText.Contains("permission denied", StringComparison.Ordinal), appText);

        // Redelivered after the shred (encrypted under a new key now): still recognised as the stored event, not a conflict.
        await using (var late = fx.StartIngest(store, topic, group: "after-shred", extraEnv: redaction))
        {
            await PipelineFixture.WaitUntilAsync(() => Task.FromResult(CommittedMessages(topic, "after-shred", 4) >= 400), TimeSpan.FromMinutes(1),
                () => Task.FromResult($"after-shred committed {CommittedMessages(topic, "after-shred", 4)} of 400\n{late.Output}"));
        }
        Assert.Equal(400, await store.CountAsync("SELECT count(*) FROM audit.events WHERE stream_id <> 'retention log'"));
        Assert.Equal(0, await store.CountAsync("SELECT count(*) FROM audit.quarantine"));

        (whyExit, whyText) = await fx.AuditctlAsync(store, env, "why", alice);
        Assert.True(whyExit == 0, "the stored bytes are unchanged, so the chain hash still verifies: " + whyText);
        Assert.Contains("input     [shredded]", whyText);
        Assert.Contains("SHREDDED action.input", whyText);
        Assert.DoesNotContain("asked about", whyText);
        Assert.Contains("verified: the hash matches", whyText);
        var (bobExit, bobText) = await fx.AuditctlAsync(store, env, "why", bob);
        Assert.True(bobExit == 0, bobText);
        Assert.Contains($"input     {bobs[0].Action.Input}", bobText);

        // Every chain, the tree and checkpoints, and an evidence bundle still verify.
        var (verifyExit, verifyText) = await fx.AuditctlAsync(store, env, "verify");
        Assert.True(verifyExit == 0, verifyText);
        await IntegrityKit.ProjectTreeAsync(ds);
        var (signExit, signText) = await fx.AuditctlAsync(store, env, "checkpoint", "create");
        Assert.True(signExit == 0, signText);
        var (cpExit, cpText) = await fx.AuditctlAsync(store, env, "checkpoint", "verify", "--trusted-key", await IntegrityKit.WritePublicKeyAsync(_signer, _work));
        Assert.True(cpExit == 0, cpText);
        var bundle = Path.Combine(_work, "bundle");
        var (exportExit, exportText) = await fx.AuditctlAsync(store, env, "export", "--from", DateTimeOffset.UtcNow.AddHours(-1).ToString("O"),
            "--to", DateTimeOffset.UtcNow.AddMinutes(5).ToString("O"), "--out", bundle);
        Assert.True(exportExit == 0, exportText);
        var report = (await BundleVerifier.VerifyAsync(bundle, TrustedKeys.Pinned([_signer.PublicKeyPem])));
        Assert.True(report.Ok, string.Join("\n", report.Problems));
        Assert.DoesNotContain("asked about", await File.ReadAllTextAsync(Path.Combine(bundle, BundleFormat.Events)));
    }

    private long CommittedMessages(string topic, string group, int partitions)
    {
        using var consumer = new Confluent.Kafka.ConsumerBuilder<byte[], byte[]>(new Confluent.Kafka.ConsumerConfig
        {
            BootstrapServers = fx.Kafka.BootstrapServers,
            GroupId = group,
        }).Build();
        var committed = consumer.Committed(Enumerable.Range(0, partitions).Select(p => new Confluent.Kafka.TopicPartition(topic, p)), TimeSpan.FromSeconds(10));
        return committed.Sum(c => c.Offset.Value > 0 ? c.Offset.Value : 0);
    }
}
