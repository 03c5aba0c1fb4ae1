using AuditPipeline.EventStore;
using AuditPipeline.Resilience;

namespace AuditPipeline.Subscriptions;

/// <summary>
/// One subscription for <see cref="SubscriptionHost"/>: its name (and so its checkpoint and leader
/// lock), how to start it, its options. <paramref name="start"/> runs before every (re)start, so a
/// handler that keeps state in memory begins again from the checkpoint after a failure.
/// </summary>
public sealed class HostedSubscription(string name, Func<CancellationToken, Task<EventBatchHandler>> start)
{
    public HostedSubscription(string name, EventBatchHandler handler) : this(name, _ => Task.FromResult(handler))
    {
    }

    public string Name => name;

    /// <summary>What it is, in log lines ("Projection", "Detectors", "Alert delivery").</summary>
    public string Kind { get; init; } = "Subscription";

    public SubscriptionOptions Options { get; init; } = new();

    /// <summary>Restart backoff after a failure; it starts again from the first delay once a run handled a batch.</summary>
    public Backoff Restart { get; init; } = Backoff.UpTo(TimeSpan.FromMilliseconds(200), 10_000);

    /// <summary>The current run (null before the first): whether it leads, its position and the head it has seen.</summary>
    public StoreSubscription? Current { get; internal set; }

    internal Task<EventBatchHandler> StartAsync(CancellationToken ct) => start(ct);
}

/// <summary>A part of a service that contributes subscriptions to the process's one host.</summary>
public interface ISubscriptionSource
{
    IEnumerable<HostedSubscription> Subscriptions { get; }
}
