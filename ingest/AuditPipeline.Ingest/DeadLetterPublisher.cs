using System.Globalization;
using System.Text;
using AuditPipeline.Core.Kafka;
using AuditPipeline.Core.Store;
using Confluent.Kafka;
using Microsoft.Extensions.Options;

namespace AuditPipeline.Ingest;

/// <summary>
/// Sends refused messages, unchanged, to the dead-letter topic with the reason in headers, so
/// their producers can be told and the messages replayed once fixed. Idempotent producer;
/// a redelivered reject may appear twice in the topic (the quarantine table records it once).
/// </summary>
public sealed class DeadLetterPublisher : IDisposable
{
    private readonly IProducer<byte[], byte[]> _producer;
    private readonly string _topic;
    private readonly TimeProvider _clock;

    public DeadLetterPublisher(IOptions<IngestOptions> options, IOptions<KafkaOptions> kafka, TimeProvider clock)
    {
        _topic = options.Value.DeadLetterTopic;
        _clock = clock;
        _producer = new ProducerBuilder<byte[], byte[]>(kafka.Value.Apply(new ProducerConfig
        {
            BootstrapServers = kafka.Value.ResolveBootstrapServers(),
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
            ClientId = "audit-ingest-dlq",
        })).Build();
    }

    public async Task PublishAsync(IReadOnlyList<QuarantineEntry> rejects, CancellationToken ct)
    {
        var now = _clock.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
        var sends = rejects.Select(r => _producer.ProduceAsync(_topic, new Message<byte[], byte[]>
        {
            Key = r.Source.Key!,
            Value = r.Source.Value,
            Headers = new Headers
            {
                { "dlq-reason-code", Encoding.UTF8.GetBytes(r.Rejection.Code) },
                { "dlq-reason", Encoding.UTF8.GetBytes(r.Rejection.Reason) },
                { "dlq-source", Encoding.UTF8.GetBytes(r.Source.Position.ToString()) },
                { "dlq-event-id", Encoding.UTF8.GetBytes(r.Rejection.EventId?.ToString() ?? "") },
                { "dlq-at", Encoding.UTF8.GetBytes(now) },
            },
        }, ct));
        await Task.WhenAll(sends);
    }

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
    }
}
