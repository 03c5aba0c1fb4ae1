using System.Diagnostics;
using AuditPipeline.DevBroker;
using AuditPipeline.Testing;
using Confluent.Kafka;

namespace AuditPipeline.Bench.Ingest;

/// <summary>
/// The real ingest process, started and joined to its group first; then the clock runs from
/// the first produced event until every event is in the store and every offset is committed.
/// </summary>
internal static class EndToEnd
{
    public sealed record Result(double EventsPerSecond, TimeSpan Elapsed);

    /// <summary>
    /// A running service is measured, not a cold start: <paramref name="warmup"/> events go
    /// through first (JIT, connection pool, group join), then the clock runs for the workload.
    /// </summary>
    public static async Task<Result> MeasureAsync(TestStore store, MockKafkaCluster kafka, Workload warmup, Workload workload)
    {
        await using var ingest = ChildProcess.StartDotnet(RepoPaths.IngestDll, new Dictionary<string, string>
        {
            ["Store__ConnectionString"] = store.ConnectionString(ServiceRole.Ingest),
            ["Kafka__BootstrapServers"] = kafka.BootstrapServers,
            ["Ingest__BatchSize"] = "5000",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__AuditPipeline.Ingest.IngestWorker"] = "Information",
        });
        await WaitAsync(() => Task.FromResult(ingest.Output.Contains("Assigned", StringComparison.Ordinal)), TimeSpan.FromSeconds(60), () => ingest.Output);

        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
            CompressionType = CompressionType.Lz4, // as the emitter library sends
        }).Build();
        await using var poll = store.SeedDataSource();
        Produce(producer, warmup);
        await WaitForLogSizeAsync(poll, warmup.Events.Count, ingest);
        await WaitAsync(() => Task.FromResult(KafkaProbe.CommittedLag(kafka.BootstrapServers, "agent-actions", "audit-ingest") == 0), TimeSpan.FromMinutes(2), () => ingest.Output);
        Console.WriteLine($"    warm-up: {warmup.Events.Count} events stored");

        var clock = Stopwatch.StartNew();
        Produce(producer, workload);
        Console.WriteLine($"    all {workload.Events.Count} events acknowledged by the broker after {clock.Elapsed.TotalSeconds:0.0}s");
        var expected = warmup.Events.Count + workload.Events.Count;
        await WaitForLogSizeAsync(poll, expected, ingest);
        await WaitAsync(() => Task.FromResult(KafkaProbe.CommittedLag(kafka.BootstrapServers, "agent-actions", "audit-ingest") == 0), TimeSpan.FromMinutes(2), () => ingest.Output);
        clock.Stop();
        foreach (var line in ingest.Output.Split('\n').Where(l => l.Contains("progress", StringComparison.Ordinal)))
        {
            Console.WriteLine("    ingest: " + line.Trim());
        }
        var stored = await store.CountAsync("SELECT count(*) FROM audit.events");
        if (stored != expected)
        {
            throw new InvalidOperationException($"stored {stored} events, expected {expected}");
        }
        return new Result(workload.Events.Count / clock.Elapsed.TotalSeconds, clock.Elapsed);
    }

    private static void Produce(IProducer<string, byte[]> producer, Workload workload)
    {
        for (var i = 0; i < workload.Events.Count; i++)
        {
            var value = workload.Canonical[i];
            while (true)
            {
                try
                {
                    producer.Produce("agent-actions", new Message<string, byte[]> { Key = workload.Events[i].Agent.Id, Value = value });
                    break;
                }
                catch (ProduceException<string, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(10));
                }
            }
        }
        if (producer.Flush(TimeSpan.FromMinutes(2)) != 0)
        {
            throw new InvalidOperationException("the producer could not deliver every event within 2 minutes");
        }
    }

    private static Task WaitForLogSizeAsync(Npgsql.NpgsqlDataSource poll, long expected, ChildProcess ingest) =>
        // The log head is one row: cheap to poll on one pooled connection without loading the server being measured.
        WaitAsync(async () =>
        {
            await using var cmd = poll.CreateCommand("SELECT next_seq - 1 FROM audit.log_head");
            return (long)(await cmd.ExecuteScalarAsync())! >= expected;
        }, TimeSpan.FromMinutes(20), () => ingest.Output);

    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> diagnostics)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("bench/ingest timed out. Ingest output:\n" + diagnostics());
            }
            await Task.Delay(50);
        }
    }
}
