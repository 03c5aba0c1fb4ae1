using AuditPipeline.Integrity.Store;
using AuditPipeline.Emitter;
using AuditPipeline.IntegrationTests.Infrastructure;
using AuditPipeline.Testing;
using Xunit;

namespace AuditPipeline.IntegrationTests;

/// <summary>Kafka (over the wire) → real ingest process → real PostgreSQL, including crashes and outages.</summary>
[Collection(PipelineCollection.Name)]
public sealed class IngestTests(PipelineFixture fx)
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task Fifty_thousand_events_from_200_agents_are_stored_once_and_every_chain_verifies()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        var (topic, _) = fx.NewTopics();
        var produced = Produce(topic, new SampleFleet(200, seed: 1), 50_000);

        await using var ingest = fx.StartIngest(store, topic);
        await WaitForEventsAsync(store, produced.Count, ingest);

        Assert.Equal(50_000, await store.CountAsync("SELECT count(*) FROM audit.events"));
        Assert.Equal(50_000, await store.CountAsync("SELECT count(DISTINCT event_id) FROM audit.events"));
        Assert.Equal(200, await store.CountAsync("SELECT count(*) FROM audit.stream_heads"));
        // Dense, gap-free log positions and per-agent versions 1..n.
        Assert.Equal(50_000, await store.CountAsync("SELECT max(global_seq) FROM audit.events"));
        Assert.Equal(0, await store.CountAsync(
            "SELECT count(*) FROM (SELECT stream_id, max(version) AS v, count(*) AS n FROM audit.events GROUP BY stream_id) s WHERE v <> n"));
        await AssertIdsStoredExactlyAsync(store, produced);
        await AssertVerifiesAsync(store);
    }

    [Fact]
    public async Task Redelivered_and_republished_messages_are_stored_once()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        var (topic, _) = fx.NewTopics();
        var fleet = new SampleFleet(20, seed: 2);
        var produced = Produce(topic, fleet, 3_000);

        await using (var first = fx.StartIngest(store, topic, group: "first"))
        {
            await WaitForEventsAsync(store, produced.Count, first);
            await first.StopAsync();
        }

        // Redelivery: a group with no committed offsets gets every message again, as after a
        // crash before commit. An emitter retry republishes the same events (same ids, same content).
        ProduceAgain(topic, produced.Take(500).ToList());
        await using var second = fx.StartIngest(store, topic, group: "second");
        await PipelineFixture.WaitUntilAsync(
            () => Task.FromResult(KafkaProbe.CommittedLag(fx.Kafka.BootstrapServers, topic, "second") == 0),
            Patience, () => Task.FromResult("group 'second' did not consume everything\n" + second.Output));

        Assert.Equal(3_000, await store.CountAsync("SELECT count(*) FROM audit.events"));
        Assert.Equal(3_000, await store.CountAsync("SELECT next_seq - 1 FROM audit.log_head"));
        Assert.Equal(0, await store.CountAsync("SELECT count(*) FROM audit.quarantine"));
        await AssertVerifiesAsync(store);
    }

    [Fact]
    public async Task Ingest_killed_with_SIGKILL_repeatedly_loses_nothing_and_duplicates_nothing()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        var (topic, _) = fx.NewTopics();
        var fleet = new SampleFleet(50, seed: 3);
        var produced = new List<Guid>();
        using var producing = new CancellationTokenSource();
        // Events keep arriving while the worker is killed and restarted.
        var producer = Task.Run(async () =>
        {
            for (var round = 0; round < 30; round++)
            {
                produced.AddRange(Produce(topic, fleet, 1_000));
                await Task.Delay(150);
            }
        });

        for (var kill = 0; kill < 3; kill++)
        {
            var ingest = fx.StartIngest(store, topic, batchSize: 500);
            // Kill once it is mid-run: some batches stored, more in flight.
            var before = await store.CountAsync("SELECT count(*) FROM audit.events");
            await PipelineFixture.WaitUntilAsync(
                async () => await store.CountAsync("SELECT count(*) FROM audit.events") > before + 1_000,
                Patience, () => Task.FromResult($"no progress before kill {kill}\n{ingest.Output}"));
            ingest.Kill();
            await ingest.DisposeAsync();
        }
        await producer;

        await using var final = fx.StartIngest(store, topic);
        await WaitForEventsAsync(store, produced.Count, final);
        await Task.Delay(2_000); // anything still arriving would be a duplicate
        Assert.Equal(30_000, produced.Count);
        Assert.Equal(30_000, await store.CountAsync("SELECT count(*) FROM audit.events"));
        await AssertIdsStoredExactlyAsync(store, produced);
        await AssertVerifiesAsync(store);
    }

    [Fact]
    public async Task Workers_joining_and_leaving_the_group_rebalance_without_loss_or_duplicates()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        var (topic, _) = fx.NewTopics();
        var fleet = new SampleFleet(40, seed: 6);
        var produced = new List<Guid>();
        var producer = Task.Run(async () =>
        {
            for (var round = 0; round < 20; round++)
            {
                produced.AddRange(Produce(topic, fleet, 500));
                await Task.Delay(300);
            }
        });

        await using var first = fx.StartIngest(store, topic, batchSize: 300);
        await PipelineFixture.WaitUntilAsync(async () => await store.CountAsync("SELECT count(*) FROM audit.events") > 1_000,
            Patience, () => Task.FromResult(first.Output));
        // A second worker joins (partitions are split), then the first leaves (all move to the second).
        await using var second = fx.StartIngest(store, topic, batchSize: 300);
        await PipelineFixture.WaitUntilAsync(() => Task.FromResult(second.Output.Contains("Assigned", StringComparison.Ordinal)),
            Patience, () => Task.FromResult(second.Output));
        await Task.Delay(2_000);
        await first.StopAsync();
        await producer;

        await WaitForEventsAsync(store, produced.Count, second);
        await Task.Delay(2_000);
        Assert.Contains("Revoked", first.Output, StringComparison.Ordinal);
        Assert.Equal(10_000, await store.CountAsync("SELECT count(*) FROM audit.events"));
        await AssertIdsStoredExactlyAsync(store, produced);
        await AssertVerifiesAsync(store);
    }

    [Fact]
    public async Task PostgreSQL_outage_during_ingest_is_waited_out_with_nothing_lost()
    {
        var server = await PostgresServer.StartAsync(); // its own server: this test stops it
        await using var _ = server;
        var store = await server.CreateStoreAsync();
        var (topic, _) = fx.NewTopics();
        var fleet = new SampleFleet(30, seed: 4);
        var produced = Produce(topic, fleet, 3_000);

        await using var ingest = fx.StartIngest(store, topic, batchSize: 500);
        await WaitForEventsAsync(store, produced.Count, ingest);

        await server.StopServerAsync();
        produced.AddRange(Produce(topic, fleet, 3_000)); // arrives while the database is down
        await Task.Delay(5_000);
        Assert.False(ingest.HasExited, "the worker must wait for PostgreSQL, not exit\n" + ingest.Output);
        await server.StartServerAsync();

        await WaitForEventsAsync(store, produced.Count, ingest);
        Assert.Contains("retrying", ingest.Output, StringComparison.Ordinal);
        Assert.Equal(6_000, await store.CountAsync("SELECT count(*) FROM audit.events"));
        await AssertIdsStoredExactlyAsync(store, produced);
        await AssertVerifiesAsync(store);
    }

    private List<Guid> Produce(string topic, SampleFleet fleet, int count)
    {
        using var emitter = new AgentActionEmitter(fx.Kafka.BootstrapServers, topic);
        var ids = new List<Guid>(count);
        var failed = 0;
        for (var i = 0; i < count; i++)
        {
            var e = fleet.Next(fleet.Agents[i % fleet.Agents.Count], DateTimeOffset.UtcNow);
            ids.Add(e.EventId);
            emitter.Enqueue(e, r => { if (r.Error.IsError) { Interlocked.Increment(ref failed); } });
        }
        Assert.Equal(0, emitter.Flush(TimeSpan.FromMinutes(1)));
        Assert.Equal(0, failed);
        return ids;
    }

    private void ProduceAgain(string topic, List<Guid> ids)
    {
        // Re-read the stored canonical bytes is not needed: the emitter's fleet is deterministic,
        // so republishing means sending the identical messages again from the topic itself.
        using var consumer = new Confluent.Kafka.ConsumerBuilder<byte[], byte[]>(new Confluent.Kafka.ConsumerConfig
        {
            BootstrapServers = fx.Kafka.BootstrapServers,
            GroupId = "republisher",
            AutoOffsetReset = Confluent.Kafka.AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        using var producer = new Confluent.Kafka.ProducerBuilder<byte[], byte[]>(new Confluent.Kafka.ProducerConfig
        {
            BootstrapServers = fx.Kafka.BootstrapServers,
            EnableIdempotence = true,
        }).Build();
        consumer.Subscribe(topic);
        var wanted = ids.ToHashSet();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        var sent = 0;
        while (sent < wanted.Count && DateTime.UtcNow < deadline)
        {
            var m = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (m?.Message is null)
            {
                continue;
            }
            var id = AuditPipeline.Contracts.ContractJson.Deserialize(m.Message.Value).EventId;
            if (wanted.Contains(id))
            {
                producer.Produce(topic, new Confluent.Kafka.Message<byte[], byte[]> { Key = m.Message.Key, Value = m.Message.Value });
                sent++;
            }
        }
        producer.Flush(TimeSpan.FromSeconds(30));
        consumer.Close();
        Assert.Equal(wanted.Count, sent);
    }

    private static Task WaitForEventsAsync(TestStore store, int expected, ChildProcess ingest) =>
        PipelineFixture.WaitUntilAsync(
            async () => await store.CountAsync("SELECT count(*) FROM audit.events") >= expected,
            Patience,
            async () => $"{await store.CountAsync("SELECT count(*) FROM audit.events")} of {expected} events stored\n{Tail(ingest.Output)}");

    private static async Task AssertIdsStoredExactlyAsync(TestStore store, List<Guid> produced)
    {
        await using var ds = store.AdminDataSource();
        await using var cmd = ds.CreateCommand("SELECT event_id FROM audit.events");
        await using var reader = await cmd.ExecuteReaderAsync();
        var stored = new List<Guid>();
        while (await reader.ReadAsync())
        {
            stored.Add(reader.GetGuid(0));
        }
        Assert.Equal(produced.Count, stored.Count);
        Assert.Equal(produced.ToHashSet(), stored.ToHashSet());
    }

    private static async Task AssertVerifiesAsync(TestStore store)
    {
        await using var ds = store.DataSource(ServiceRole.Api);
        var report = await new ChainVerifier(ds).VerifyAsync(new VerifyScope(), CancellationToken.None);
        Assert.True(report.Intact, string.Join("\n", report.Breaks));
        Assert.Equal(await store.CountAsync("SELECT count(*) FROM audit.events"), report.EventsChecked);
    }

    private static string Tail(string output) => output.Length <= 4000 ? output : output[^4000..];
}
