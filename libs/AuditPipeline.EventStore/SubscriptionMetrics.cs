using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace AuditPipeline.EventStore;

/// <summary>
/// Gauges under the meter "AuditPipeline.Subscriptions": position and lag (events behind the
/// log head, and seconds) of every active subscription in this process, tagged with its name.
/// </summary>
public static class SubscriptionMetrics
{
    private static readonly Meter Meter = new("AuditPipeline.Subscriptions");
    private static readonly ConcurrentDictionary<StoreSubscription, bool> Active = new();

    static SubscriptionMetrics()
    {
        Meter.CreateObservableGauge("auditpipeline.subscription.position",
            () => Active.Keys.Select(s => new Measurement<long>(s.Position, new KeyValuePair<string, object?>("subscription", s.Name))));
        Meter.CreateObservableGauge("auditpipeline.subscription.lag_events",
            () => Active.Keys.Select(s => new Measurement<long>(Math.Max(0, s.Head - s.Position), new KeyValuePair<string, object?>("subscription", s.Name))));
        Meter.CreateObservableGauge("auditpipeline.subscription.lag_seconds",
            () => Active.Keys.Select(s => new Measurement<double>(s.LagSeconds, new KeyValuePair<string, object?>("subscription", s.Name))));
    }

    public static IDisposable Track(StoreSubscription subscription)
    {
        Active[subscription] = true;
        return new Untrack(subscription);
    }

    private sealed class Untrack(StoreSubscription subscription) : IDisposable
    {
        public void Dispose() => Active.TryRemove(subscription, out _);
    }
}
