using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Detectors;
using AuditPipeline.Resilience;
using AuditPipeline.Subscriptions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuditPipeline.DetectorService;

/// <summary>
/// Runs the detectors as the store subscription <c>detectors</c> (one active instance; others
/// stand by). On activation it relearns from the stored events of the last WarmupHours before
/// its checkpoint (alerts discarded), then takes the incidents' state from the stored alert
/// events, so a restart continues open incidents instead of opening them again. Each batch's
/// alert changes are appended to the store before the checkpoint moves (ids are deterministic,
/// so a replayed batch's alerts are dropped as duplicates). Detector state is thus rebuildable
/// from the store at any time. The subscription runs in the process's <see cref="SubscriptionHost"/>;
/// this service itself closes idle minutes beside it.
/// </summary>
public sealed class DetectionWorker : BackgroundService, ISubscriptionSource
{
    public const string SubscriptionName = "detectors";

    private readonly SemaphoreSlim _engineLock = new(1, 1);
    private readonly NpgsqlDataSource store;
    private readonly AlertLog alerts;
    private readonly IOptions<DetectorOptions> detectorOptions;
    private readonly IOptions<DetectionServiceOptions> options;
    private readonly TimeProvider clock;
    private readonly ILogger<DetectionWorker> logger;
    private readonly HostedSubscription _subscription;
    private DetectionEngine? _engine;

    public DetectionWorker(
        NpgsqlDataSource store, AlertLog alerts, IOptions<DetectorOptions> detectorOptions,
        IOptions<DetectionServiceOptions> options, TimeProvider clock, ILogger<DetectionWorker> logger)
    {
        this.store = store;
        this.alerts = alerts;
        this.detectorOptions = detectorOptions;
        this.options = options;
        this.clock = clock;
        this.logger = logger;
        _subscription = new HostedSubscription(SubscriptionName, _ =>
        {
            // Until the warm-up on activation, no engine: a restart relearns from the checkpoint.
            _engine = null;
            return Task.FromResult<EventBatchHandler>(HandleAsync);
        })
        {
            Kind = "Detectors",
            Options = new SubscriptionOptions { BatchSize = options.Value.BatchSize, OnActivated = WarmUpAsync },
            Restart = Backoff.UpTo(TimeSpan.FromMilliseconds(200), options.Value.MaxRetryDelayMs),
        };
    }

    public IEnumerable<HostedSubscription> Subscriptions => [_subscription];

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => AdvanceWhenIdleAsync(stoppingToken);

    /// <summary>Relearn from recent history, then take incident state from the stored alerts.</summary>
    private async Task WarmUpAsync(CancellationToken ct)
    {
        var engine = new DetectionEngine(detectorOptions.Value);
        var checkpoint = await StoreSubscription.ReadCheckpointAsync(store, SubscriptionName, ct);
        long replayed = 0;
        if (checkpoint > 0)
        {
            var since = clock.GetUtcNow().AddHours(-options.Value.WarmupHours);
            var from = await ScalarAsync(StoreSql.FindPositionBefore, ct, ("upto", checkpoint), ("since", since));
            var discarded = new List<AgentAlert>();
            while (from < checkpoint)
            {
                var batch = await StoreSubscription.ReadAfterAsync(store, from, (int)Math.Min(options.Value.BatchSize, checkpoint - from), ct);
                if (batch.Count == 0)
                {
                    break;
                }
                foreach (var e in batch.Where(e => e.EventType == AgentActionOccurred.TypeName))
                {
                    Observe(engine, e, discarded, arrivedAt: e.RecordedAt);
                }
                discarded.Clear();
                replayed += batch.Count;
                from = batch[^1].GlobalSeq;
            }
        }
        // Every stored alert event, not only those below the checkpoint: a batch's alerts are appended
        // before its checkpoint moves, so a crash in between leaves them past it. Replaying that batch
        // then finds the incident open (and regenerates the same alert ids, which the store drops).
        var stored = await alerts.ReadAsync(clock.GetUtcNow().AddDays(-options.Value.IncidentLookbackDays), long.MaxValue, ct);
        engine.ResetIncidents(stored.Select(s => s.Alert));
        _engine = engine;
        logger.LogInformation(
            "Detectors active from log position {Position}: relearned from {Replayed} events, {Incidents} open incidents reloaded from {Alerts} alert events",
            checkpoint, replayed, engine.OpenIncidents, stored.Count);
    }

    private async Task HandleAsync(IReadOnlyList<StoredEvent> batch, CancellationToken ct)
    {
        var output = new List<AgentAlert>();
        await _engineLock.WaitAsync(ct);
        try
        {
            var engine = _engine ?? throw new InvalidOperationException("The detectors are not warmed up.");
            var now = clock.GetUtcNow();
            foreach (var e in batch)
            {
                if (e.EventType == AgentActionOccurred.TypeName)
                {
                    Observe(engine, e, output, now);
                }
                else if (e.EventType == AgentAlert.TypeName)
                {
                    // A person's acknowledge or resolve (our own changes are already applied).
                    engine.Apply(ContractJson.DeserializeAlert(e.Payload));
                }
            }
            await AppendAsync(output, ct);
        }
        finally
        {
            _engineLock.Release();
        }
    }

    /// <summary>
    /// Agents from which nothing has arrived for IdleAdvanceSeconds have their minutes closed up
    /// to the wall clock (only while the subscription is caught up: during a catch-up the wall
    /// clock says nothing about the events still to come), so an agent that stops is still scored
    /// and its incident recovers.
    /// </summary>
    private async Task AdvanceWhenIdleAsync(CancellationToken ct)
    {
        var idle = TimeSpan.FromSeconds(options.Value.IdleAdvanceSeconds);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, options.Value.IdleAdvanceSeconds / 3.0)), clock);
        while (await timer.WaitForNextTickAsync(ct))
        {
            var subscription = _subscription.Current;
            if (_engine is null || subscription is not { IsActive: true } || subscription.Position < subscription.Head)
            {
                continue;
            }
            var output = new List<AgentAlert>();
            await _engineLock.WaitAsync(ct);
            try
            {
                if (_engine is { } engine)
                {
                    var now = clock.GetUtcNow();
                    engine.CloseIdle(now, now - idle, output);
                    await AppendAsync(output, ct);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning("Closing idle minutes failed ({Error}); will retry", ex.Message);
            }
            finally
            {
                _engineLock.Release();
            }
        }
    }

    private static void Observe(DetectionEngine engine, StoredEvent e, List<AgentAlert> output, DateTimeOffset arrivedAt) =>
        engine.Observe(ActionObservation.From(ContractJson.Deserialize(e.Payload)), output, arrivedAt);

    private async Task AppendAsync(List<AgentAlert> output, CancellationToken ct)
    {
        if (output.Count == 0)
        {
            return;
        }
        var result = await alerts.AppendAsync(output, ct);
        foreach (var alert in output)
        {
            DetectorMetrics.AlertStored(alert);
            logger.LogWarning("Alert {Change}: {Title} (incident {Incident}, severity {Severity})",
                WireNames.Of(alert.Change), alert.Title, alert.IncidentId, WireNames.Of(alert.Severity));
        }
        if (result.Duplicates > 0)
        {
            logger.LogInformation("{Duplicates} alert changes were already stored (a replay after restart)", result.Duplicates);
        }
    }

    private async Task<long> ScalarAsync(string sql, CancellationToken ct, params (string Name, object Value)[] parameters)
    {
        await using var cmd = store.CreateCommand(sql);
        foreach (var (name, value) in parameters)
        {
            cmd.Parameters.AddWithValue(name, value);
        }
        return await cmd.ExecuteScalarAsync(ct) is long result ? result : 0;
    }

    public override void Dispose()
    {
        _engineLock.Dispose();
        base.Dispose();
    }
}
