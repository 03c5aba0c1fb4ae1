using System.Globalization;
using System.Text;
using AuditPipeline.Contracts;
using AuditPipeline.Emitter;
using AuditPipeline.IntegrationTests.Infrastructure;
using AuditPipeline.Testing;
using Confluent.Kafka;
using Xunit;

namespace AuditPipeline.IntegrationTests;

/// <summary>
/// Issue 15: the paths that used to stop ingest or lose messages. Each message ends somewhere
/// durable (the store, or quarantine with its reason) and the worker keeps running.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class PoisonPathTests(PipelineFixture fx)
{
    [Fact]
    public async Task A_compressible_multi_megabyte_value_is_dead_lettered_bounded_and_ingest_moves_on()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        var (topic, deadLetterTopic) = fx.NewTopics(partitions: 1);
        var fleet = new SampleFleet(1, seed: 15);
        var agent = fleet.Agents[0];
        var json = Encoding.UTF8.GetString(ContractJson.SerializeCanonical(fleet.Next(agent, DateTimeOffset.UtcNow)));
        // 4 MB that gzip squeezes to a few KB: under the broker's limit on the wire, far over ingest's.
        var huge = Encoding.UTF8.GetBytes(json.Replace("\"reason\":\"", "\"reason\":\"" + new string('x', 4_000_000), StringComparison.Ordinal));
        var after = fleet.Next(agent, DateTimeOffset.UtcNow);
        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = fx.Kafka.BootstrapServers,
            CompressionType = CompressionType.Gzip,
            MessageMaxBytes = 8_000_000,
        }).Build())
        {
            await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = agent.Id, Value = huge });
            await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = agent.Id, Value = ContractJson.SerializeCanonical(after) });
        }

        await using var ingest = fx.StartIngest(store, topic);
        await PipelineFixture.WaitUntilAsync(
            async () => await store.CountAsync($"SELECT count(*) FROM audit.events WHERE event_id = '{after.EventId}'") == 1
                        && KafkaProbe.CommittedLag(fx.Kafka.BootstrapServers, topic, "audit-ingest") == 0,
            TimeSpan.FromMinutes(2), () => Task.FromResult(ingest.Output));

        Assert.False(ingest.HasExited, ingest.Output);
        Assert.Equal(1, await store.CountAsync($"SELECT count(*) FROM audit.quarantine WHERE reason_code = 'oversized' AND raw_size = {huge.Length} AND raw_truncated AND length(raw) = 65536"));
        var copy = Assert.Single(KafkaProbe.ReadFromStart(fx.Kafka.BootstrapServers, deadLetterTopic, 1, TimeSpan.FromSeconds(60)));
        Assert.Equal(64 * 1024, copy.Value.Length);
        Assert.Equal(huge.Length.ToString(CultureInfo.InvariantCulture), Header(copy, "dlq-original-size"));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(huge)), Header(copy, "dlq-original-sha256"));
        Assert.Equal("true", Header(copy, "dlq-truncated"));
    }

    [Fact]
    public async Task A_topic_missing_at_start_is_waited_for_and_ingest_stores_once_it_exists()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        var topic = $"agent-actions-late-{Guid.NewGuid():N}";
        fx.Kafka.CreateTopic(topic + ".dlq", 1);
        await using var ingest = fx.StartIngest(store, topic);
        await PipelineFixture.WaitUntilAsync(
            () => Task.FromResult(ingest.Output.Contains(topic, StringComparison.Ordinal) || ingest.HasExited),
            TimeSpan.FromSeconds(60), () => Task.FromResult("no word of the missing topic: " + ingest.Output));
        Assert.False(ingest.HasExited, "a missing topic is waited out, not a crash:\n" + ingest.Output);

        fx.Kafka.CreateTopic(topic, 2);
        var fleet = new SampleFleet(2, seed: 16);
        using (var emitter = new AgentActionEmitter(fx.Kafka.BootstrapServers, topic))
        {
            foreach (var agent in fleet.Agents)
            {
                await emitter.EmitAsync(fleet.Next(agent, DateTimeOffset.UtcNow));
            }
        }
        await PipelineFixture.WaitUntilAsync(
            async () => await store.CountAsync("SELECT count(*) FROM audit.events") == 2,
            TimeSpan.FromMinutes(2), () => Task.FromResult(ingest.Output));
        Assert.False(ingest.HasExited, ingest.Output);
    }

    [Theory]
    [InlineData("Kafka__Client__enable.auto.commit", "true", "enable.auto.commit")]
    [InlineData("Kafka__Client__partition.assignment.strategy", "cooperative-sticky", "partition.assignment.strategy")]
    [InlineData("Kafka__Client__auto.offset.reset", "latest", "auto.offset.reset")]
    public async Task Consumer_settings_that_could_skip_messages_are_refused_at_start(string key, string value, string named)
    {
        var store = await fx.Postgres.CreateStoreAsync();
        var (topic, _) = fx.NewTopics(partitions: 1);
        await using var ingest = fx.StartIngest(store, topic, extraEnv: new Dictionary<string, string> { [key] = value });
        await PipelineFixture.WaitUntilAsync(() => Task.FromResult(ingest.HasExited), TimeSpan.FromSeconds(60), () => Task.FromResult(ingest.Output));
        Assert.NotEqual(0, ingest.ExitCode);
        Assert.Contains(named, ingest.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_too_old_event_is_replayed_from_quarantine_once_the_limit_is_raised_and_stored_once()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        var (topic, _) = fx.NewTopics(partitions: 1);
        var fleet = new SampleFleet(1, seed: 17);
        var agent = fleet.Agents[0];
        var old = fleet.Next(agent, DateTimeOffset.UtcNow.AddDays(-40));
        var fresh = fleet.Next(agent, DateTimeOffset.UtcNow);
        using (var emitter = new AgentActionEmitter(fx.Kafka.BootstrapServers, topic))
        {
            await emitter.EmitAsync(old);
            await emitter.EmitAsync(fresh);
        }
        var env = new Dictionary<string, string> { ["Ingest__Topic"] = topic };
        Task<(int ExitCode, string Output)> Replay(params string[] args) => fx.AuditctlAsync(store, env, ["store", "quarantine", "replay", .. args]);
        Task<long> Quarantined() => store.CountAsync("SELECT count(*) FROM audit.quarantine");

        await using (var ingest = fx.StartIngest(store, topic))
        {
            await PipelineFixture.WaitUntilAsync(
                async () => await store.CountAsync("SELECT count(*) FROM audit.quarantine WHERE reason_code = 'too_old'") == 1
                            && await store.CountAsync("SELECT count(*) FROM audit.events") == 1,
                TimeSpan.FromMinutes(2), () => Task.FromResult(ingest.Output));

            var (noFilter, noFilterText) = await Replay();
            Assert.True(noFilter == 2 && noFilterText.Contains("--reason", StringComparison.Ordinal), noFilterText);
            var (dryExit, dryText) = await Replay("--reason", "too_old", "--dry-run");
            Assert.True(dryExit == 0 && dryText.Contains($"event_id={old.EventId}", StringComparison.Ordinal) && dryText.Contains("would replay=1", StringComparison.Ordinal), dryText);
            var (downExit, downText) = await fx.AuditctlAsync(store,
                new Dictionary<string, string>(env) { ["Kafka__BootstrapServers"] = "127.0.0.1:1", ["Kafka__Client__message.timeout.ms"] = "2000" },
                "store", "quarantine", "replay", "--reason", "too_old");
            var downLines = downText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(downExit == 2 && downLines.Length <= 3 && downLines[^1].StartsWith("store quarantine replay: ", StringComparison.Ordinal)
                        && !downText.Contains("   at ", StringComparison.Ordinal), downText);
            Assert.Equal(0, await store.CountAsync("SELECT count(*) FROM audit.quarantine_replays"));

            // Replayed before the cause is fixed: refused again, quarantined once more, and never re-sent by a replay itself.
            var (early, earlyText) = await Replay("--reason", "too_old");
            Assert.True(early == 0 && earlyText.Contains("replayed=1", StringComparison.Ordinal), earlyText);
            await PipelineFixture.WaitUntilAsync(async () => await Quarantined() == 2, TimeSpan.FromMinutes(1), () => Task.FromResult(ingest.Output));
            var (none, noneText) = await Replay("--reason", "too_old");
            Assert.True(none == 0 && noneText.Contains("replayed=0", StringComparison.Ordinal), noneText);
            await ingest.StopAsync();
        }

        await using var raised = fx.StartIngest(store, topic, extraEnv: new Dictionary<string, string> { ["Ingest__Validation__MaxAge"] = "90.00:00:00" });
        var (exit, text) = await Replay("--reason", "too_old", "--again", "--by", "ops@example.com");
        Assert.True(exit == 0 && text.Contains("replayed=1", StringComparison.Ordinal), text);
        await PipelineFixture.WaitUntilAsync(
            async () => await store.CountAsync($"SELECT count(*) FROM audit.events WHERE event_id = '{old.EventId}'") == 1,
            TimeSpan.FromMinutes(2), () => Task.FromResult(raised.Output));
        Assert.Equal(1, await store.CountAsync($"SELECT count(*) FROM audit.quarantine_replays r JOIN audit.quarantine q ON q.id = r.quarantine_id WHERE q.event_id = '{old.EventId}' AND r.replayed_by = 'ops@example.com' AND r.target_topic = '{topic}'"));

        // Once more: ingest sees a duplicate and stores nothing twice.
        var (again, againText) = await Replay("--reason", "too_old", "--again");
        Assert.True(again == 0 && againText.Contains("replayed=1", StringComparison.Ordinal), againText);
        await PipelineFixture.WaitUntilAsync(
            async () => KafkaProbe.CommittedLag(fx.Kafka.BootstrapServers, topic, "audit-ingest") == 0,
            TimeSpan.FromMinutes(1), () => Task.FromResult(raised.Output));
        Assert.Equal(2, await store.CountAsync("SELECT count(*) FROM audit.events"));
        Assert.Equal(2, await Quarantined());
        Assert.Equal(3, await store.CountAsync("SELECT count(*) FROM audit.quarantine_replays"));
        var (verifyExit, verifyText) = await fx.AuditctlAsync(store, "verify");
        Assert.True(verifyExit == 0, verifyText);
        Assert.False(raised.HasExited, raised.Output);
    }

    [Fact]
    public async Task A_truncated_or_altered_quarantine_row_is_never_replayed()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        var (topic, _) = fx.NewTopics(partitions: 1);
        var fleet = new SampleFleet(1, seed: 18);
        var agent = fleet.Agents[0];
        var json = Encoding.UTF8.GetString(ContractJson.SerializeCanonical(fleet.Next(agent, DateTimeOffset.UtcNow)));
        var oversized = Encoding.UTF8.GetBytes(json.Replace("\"reason\":\"", "\"reason\":\"" + new string('y', 200_000), StringComparison.Ordinal));
        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = fx.Kafka.BootstrapServers, CompressionType = CompressionType.Lz4 }).Build())
        {
            await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = agent.Id, Value = oversized });
            await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = "not-" + agent.Id, Value = ContractJson.SerializeCanonical(fleet.Next(agent, DateTimeOffset.UtcNow)) });
            await producer.ProduceAsync(topic, new Message<string, byte[]> { Key = agent.Id, Value = [] });
        }
        await using (var ingest = fx.StartIngest(store, topic))
        {
            await PipelineFixture.WaitUntilAsync(
                async () => await store.CountAsync("SELECT count(*) FROM audit.quarantine") == 3,
                TimeSpan.FromMinutes(2), () => Task.FromResult(ingest.Output));
        }
        var env = new Dictionary<string, string> { ["Ingest__Topic"] = topic };
        var (exit, text) = await fx.AuditctlAsync(store, env, "store", "quarantine", "replay", "--reason", "oversized");
        Assert.True(exit == 1 && text.Contains("refused_truncated=1", StringComparison.Ordinal) && text.Contains("must be re-sent by its producer", StringComparison.Ordinal), text);
        var (empty, emptyText) = await fx.AuditctlAsync(store, env, "store", "quarantine", "replay", "--reason", "empty");
        Assert.True(empty == 1 && emptyText.Contains("refused_empty=1", StringComparison.Ordinal) && emptyText.Contains("nothing to send", StringComparison.Ordinal), emptyText);

        // Someone with the owner's credentials swaps the kept bytes (the append-only trigger stops
        // anyone else): the digest taken on arrival no longer matches, and nothing is sent.
        await using (var admin = store.AdminDataSource())
        {
            await using var tamper = admin.CreateCommand(
                "ALTER TABLE audit.quarantine DISABLE TRIGGER quarantine_append_only; "
                + "UPDATE audit.quarantine SET raw = raw || '\\x20'::bytea WHERE reason_code = 'key_mismatch'; "
                + "ALTER TABLE audit.quarantine ENABLE TRIGGER quarantine_append_only;");
            await tamper.ExecuteNonQueryAsync();
        }
        var (altered, alteredText) = await fx.AuditctlAsync(store, env, "store", "quarantine", "replay", "--reason", "key_mismatch");
        Assert.True(altered == 1 && alteredText.Contains("refused_digest_mismatch=1", StringComparison.Ordinal) && alteredText.Contains("the row was altered", StringComparison.Ordinal), alteredText);
        Assert.Equal(0, await store.CountAsync("SELECT count(*) FROM audit.quarantine_replays"));
    }

    private static string Header(Message<byte[], byte[]> m, string name) => Encoding.UTF8.GetString(m.Headers.GetLastBytes(name));
}
