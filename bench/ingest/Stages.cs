using System.Diagnostics;
using System.Text;
using AuditPipeline.Contracts;
using AuditPipeline.Contracts.Validation;
using AuditPipeline.EventStore;
using AuditPipeline.Testing;

namespace AuditPipeline.Bench.Ingest;

/// <summary>Each ingest stage alone, to say what limits the end-to-end rate.</summary>
internal static class Stages
{
    public static double DecodeRate(Workload workload)
    {
        var decoder = new EventDecoder(new ValidationLimits());
        var keys = workload.Events.Select(e => Encoding.UTF8.GetBytes(e.Agent.Id)).ToList();
        var now = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < workload.Events.Count; i++)
        {
            var (decoded, _) = decoder.Decode(keys[i], workload.Canonical[i], now);
            if (decoded is null)
            {
                throw new InvalidOperationException("workload event rejected");
            }
        }
        return workload.Events.Count / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Redaction's CPU part alone: encrypting the default fields per subject and re-serializing (keys at hand).</summary>
    public static double RedactRate(Workload workload)
    {
        using var unused = Npgsql.NpgsqlDataSource.Create("Host=127.0.0.1;Port=9"); // never connected: keys are passed in
        var keys = new AuditPipeline.Redaction.SubjectKeyStore(unused, new(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), TimeProvider.System);
        var redactor = new AuditPipeline.Redaction.PayloadRedactor(unused, keys, AuditPipeline.Redaction.RedactionOptions.DefaultEncrypt.Split(','), [],
            TimeSpan.FromMinutes(1), TimeProvider.System);
        var subjectKeys = workload.Events.Select(AuditPipeline.Redaction.PayloadRedactor.SubjectOf).Distinct()
            .ToDictionary(s => s, _ => new AuditPipeline.Redaction.SubjectCipher(Guid.NewGuid(), System.Security.Cryptography.RandomNumberGenerator.GetBytes(64)));
        var clock = Stopwatch.StartNew();
        foreach (var e in workload.Events)
        {
            _ = ContractJson.SerializeCanonical(redactor.Redact(e, subjectKeys));
        }
        return workload.Events.Count / clock.Elapsed.TotalSeconds;
    }

    public static async Task<double> AppendRateAsync(TestStore store, Workload workload)
    {
        await using var ds = store.DataSource(ServiceRole.Ingest);
        var eventStore = new PostgresEventStore(ds, TimeProvider.System);
        var incoming = workload.Events.Select((e, i) => TestEvents.Incoming(e, i)).ToList();
        var clock = Stopwatch.StartNew();
        for (var start = 0; start < incoming.Count; start += 5000)
        {
            await eventStore.AppendAsync(incoming.GetRange(start, Math.Min(5000, incoming.Count - start)), [], CancellationToken.None);
        }
        return incoming.Count / clock.Elapsed.TotalSeconds;
    }
}

internal static class KafkaStages
{
    /// <summary>Reads every message of the topic with a plain consumer that does nothing else.</summary>
    public static double ConsumeRate(string bootstrap, string topic, int expected, bool decode = false)
    {
        var decoder = new EventDecoder(new ValidationLimits());
        using var consumer = new Confluent.Kafka.ConsumerBuilder<byte[], byte[]>(new Confluent.Kafka.ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "bench-consume-probe-" + decode,
            AutoOffsetReset = Confluent.Kafka.AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        consumer.Subscribe(topic);
        var first = consumer.Consume(TimeSpan.FromSeconds(30)) ?? throw new InvalidOperationException("nothing to consume");
        var clock = Stopwatch.StartNew();
        var count = 1;
        while (count < expected && clock.Elapsed < TimeSpan.FromMinutes(5))
        {
            var m = consumer.Consume(TimeSpan.FromSeconds(1));
            if (m?.Message is not null)
            {
                count++;
                if (decode && decoder.Decode(m.Message.Key, m.Message.Value, DateTimeOffset.UtcNow).Event is null)
                {
                    throw new InvalidOperationException("rejected");
                }
            }
        }
        consumer.Close();
        return count / clock.Elapsed.TotalSeconds;
    }
}
