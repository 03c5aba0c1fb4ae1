using System.Net;
using System.Text;
using AuditPipeline.Contracts;
using AuditPipeline.Kafka;
using Confluent.Kafka;

namespace AuditPipeline.DetectorService;

/// <summary>One place alerts are delivered to. Deliveries carry the alert event id so receivers can drop repeats.</summary>
public interface IAlertSink
{
    /// <summary>Names the sink's delivery checkpoint (a store subscription).</summary>
    string SubscriptionName { get; }

    /// <summary>Delivers one alert change; throws <see cref="PermanentDeliveryException"/> when retrying cannot help.</summary>
    Task DeliverAsync(AgentAlert alert, byte[] canonicalJson, CancellationToken ct);
}

public sealed class PermanentDeliveryException(string message) : Exception(message);

/// <summary>The <c>agent-alerts</c> topic: key = agent id (an agent's alerts stay in order), value = the stored alert event.</summary>
public sealed class KafkaAlertSink : IAlertSink, IDisposable
{
    private readonly IProducer<string, byte[]> _producer;
    private readonly string _topic;

    public KafkaAlertSink(KafkaOptions kafka, AlertOptions options)
    {
        _topic = options.Topic;
        _producer = new ProducerBuilder<string, byte[]>(kafka.Apply(new ProducerConfig
        {
            BootstrapServers = kafka.ResolveBootstrapServers(),
            EnableIdempotence = true, // no duplicates from the producer's own retries
            Acks = Acks.All,
            ClientId = "audit-detectors-alerts",
        })).Build();
    }

    public string SubscriptionName => "alerts-kafka";

    public async Task DeliverAsync(AgentAlert alert, byte[] canonicalJson, CancellationToken ct) =>
        await _producer.ProduceAsync(_topic, new Message<string, byte[]>
        {
            Key = alert.AgentId,
            Value = canonicalJson,
            Headers = new Headers
            {
                { "idempotency-key", Encoding.UTF8.GetBytes(alert.EventId.ToString()) },
                { "alert-change", Encoding.UTF8.GetBytes(WireNames.Of(alert.Change)) },
                { "alert-severity", Encoding.UTF8.GetBytes(WireNames.Of(alert.Severity)) },
            },
        }, ct);

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
    }
}

/// <summary>
/// An HTTP webhook: generic JSON (the alert event itself), a Slack incoming webhook, or PagerDuty
/// Events v2. Every request carries <c>Idempotency-Key</c> = the alert event id; PagerDuty also
/// gets dedup_key = the incident id, so its incident is updated, not duplicated.
/// </summary>
public sealed class WebhookAlertSink(HttpClient http, WebhookOptions options) : IAlertSink
{
    public string SubscriptionName => $"alerts-webhook-{options.Name}";

    /// <summary>For logs: the receiver's host only (webhook URLs often embed their token).</summary>
    public string Target => $"{options.Name} ({new Uri(options.Url).Host})";

    public async Task DeliverAsync(AgentAlert alert, byte[] canonicalJson, CancellationToken ct)
    {
        if (alert.Severity < options.MinSeverity)
        {
            return;
        }
        var body = options.Format switch
        {
            WebhookFormat.Slack => WebhookPayloads.Slack(alert),
            WebhookFormat.PagerDuty => WebhookPayloads.PagerDuty(alert, options.RoutingKey ?? ""),
            _ => canonicalJson,
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, options.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Add("Idempotency-Key", alert.EventId.ToString());
        using var response = await http.SendAsync(request, ct);
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        var status = (int)response.StatusCode;
        var transient = status >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;
        var message = $"webhook {Target} answered {status} {response.ReasonPhrase}";
        throw transient ? new HttpRequestException(message) : new PermanentDeliveryException(message);
    }
}
