using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using AuditPipeline.EventStore;
using AuditPipeline.Kafka;
using Confluent.Kafka;
using Microsoft.Extensions.Options;

namespace AuditPipeline.Ingest;

/// <summary>
/// Sends refused messages to the dead-letter topic with the reason in headers, so their producers
/// can be told and the messages replayed once fixed. The value is bounded like the quarantine row
/// (the quarantine limit, then the original's size and SHA-256 in headers), so a huge but
/// compressible message the broker let in cannot be refused again on the way out. The quarantine
/// row, written before this, is the durable record; this copy is the notification.
/// </summary>
public sealed class DeadLetterPublisher : IDisposable
{
    private readonly IProducer<byte[], byte[]> _producer;
    private readonly string _topic;
    private readonly int _maxValueBytes;
    private readonly TimeProvider _clock;

    public DeadLetterPublisher(IOptions<IngestOptions> options, IOptions<StoreOptions> store, IOptions<KafkaOptions> kafka, TimeProvider clock)
    {
        _topic = options.Value.DeadLetterTopic;
        _maxValueBytes = store.Value.QuarantineMaxRawBytes;
        _clock = clock;
        _producer = new ProducerBuilder<byte[], byte[]>(kafka.Value.Apply(new ProducerConfig
        {
            BootstrapServers = kafka.Value.ResolveBootstrapServers(),
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
            ClientId = "audit-ingest-dlq",
            MessageTimeoutMs = 30_000,
        })).Build();
    }

    /// <summary>Sends each reject once; returns the ones that failed and why (the caller decides whether to retry).</summary>
    public async Task<IReadOnlyList<(QuarantineEntry Entry, Error Error)>> PublishAsync(IReadOnlyList<QuarantineEntry> rejects, CancellationToken ct)
    {
        var now = _clock.GetUtcNow().ToString("O", CultureInfo.InvariantCulture);
        var sends = rejects.Select(r => SendAsync(r, now, ct)).ToArray();
        var failures = new List<(QuarantineEntry, Error)>();
        for (var i = 0; i < sends.Length; i++)
        {
            try
            {
                await sends[i];
            }
            catch (ProduceException<byte[], byte[]> ex)
            {
                failures.Add((rejects[i], ex.Error));
            }
        }
        return failures;
    }

    private Task<DeliveryResult<byte[], byte[]>> SendAsync(QuarantineEntry r, string now, CancellationToken ct)
    {
        var (value, truncated) = BoundedRaw.Bound(r.Source.Value, _maxValueBytes);
        return _producer.ProduceAsync(_topic, new Message<byte[], byte[]>
        {
            Key = BoundedRaw.Key(r.Source.Key)!,
            Value = value,
            Headers = new Headers
            {
                { "dlq-reason-code", Encoding.UTF8.GetBytes(r.Rejection.Code) },
                { "dlq-reason", Encoding.UTF8.GetBytes(r.Rejection.Reason) },
                { "dlq-source", Encoding.UTF8.GetBytes(r.Source.Position.ToString()) },
                { "dlq-event-id", Encoding.UTF8.GetBytes(r.Rejection.EventId?.ToString() ?? "") },
                { "dlq-at", Encoding.UTF8.GetBytes(now) },
                { "dlq-original-size", Encoding.UTF8.GetBytes(r.Source.Value.Length.ToString(CultureInfo.InvariantCulture)) },
                { "dlq-original-sha256", Encoding.UTF8.GetBytes(Convert.ToHexStringLower(SHA256.HashData(r.Source.Value))) },
                { "dlq-truncated", Encoding.UTF8.GetBytes(truncated ? "true" : "false") },
            },
        }, ct);
    }

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
    }
}
