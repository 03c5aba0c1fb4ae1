using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Resilience;
using AuditPipeline.Subscriptions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AuditPipeline.DetectorService;

/// <summary>
/// Delivers stored alert events to each sink (the agent-alerts topic, each webhook) as its own
/// store subscription over alert events only, so a dead webhook delays only itself. A delivery
/// is retried with capped exponential backoff until it succeeds (the checkpoint does not move
/// past it); a permanent refusal (4xx other than 408/429) is logged and skipped, the alert stays
/// in the store and the topic. At-least-once: after a crash the last batch may be delivered
/// again with the same idempotency key.
/// </summary>
public sealed class AlertDispatchWorker(IEnumerable<IAlertSink> sinks, IOptions<AlertOptions> options, ILogger<AlertDispatchWorker> logger)
    : ISubscriptionSource
{
    // A failed delivery batch restarts after about a second, as it always did; the delivery
    // itself is retried within the batch with the Alerts:MaxRetryDelayMs backoff.
    private static readonly Backoff RestartBackoff = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

    public IEnumerable<HostedSubscription> Subscriptions => sinks.Select(sink =>
        new HostedSubscription(sink.SubscriptionName, (batch, ct) => DeliverBatchAsync(sink, batch, ct))
        {
            Kind = "Alert delivery",
            Options = new SubscriptionOptions { AlertsOnly = true, BatchSize = 500 },
            Restart = RestartBackoff,
        }).ToList();

    private async Task DeliverBatchAsync(IAlertSink sink, IReadOnlyList<StoredEvent> batch, CancellationToken ct)
    {
        foreach (var e in batch)
        {
            var alert = ContractJson.DeserializeAlert(e.Payload);
            var retry = RetryPolicies.Create(Backoff.UpTo(TimeSpan.FromMilliseconds(250), options.Value.MaxRetryDelayMs),
                ex => ex is not PermanentDeliveryException && (ex is not OperationCanceledException || !ct.IsCancellationRequested),
                wait =>
                {
                    DetectorMetrics.DeliveryRetried(sink.SubscriptionName);
                    logger.LogWarning("Alert {AlertId} delivery to {Sink} failed (attempt {Attempt}: {Error}); retrying in {Delay} ms",
                        alert.EventId, sink.SubscriptionName, wait.Attempt + 1, wait.Error.Message, (int)wait.Delay.TotalMilliseconds);
                });
            try
            {
                await retry.ExecuteAsync(async (CancellationToken token) => await sink.DeliverAsync(alert, e.Payload, token), ct);
            }
            catch (PermanentDeliveryException ex)
            {
                DetectorMetrics.DeliveryFailed(sink.SubscriptionName);
                logger.LogError("Alert {AlertId} not delivered to {Sink}: {Error}; skipped (it stays in the store)", alert.EventId, sink.SubscriptionName, ex.Message);
            }
        }
    }
}
