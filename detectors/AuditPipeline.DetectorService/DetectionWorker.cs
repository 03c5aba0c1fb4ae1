using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Detectors;
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
/// from the store at any time.
/// </summary>
public sealed class DetectionWorker(
    NpgsqlDataSource store, AlertLog alerts, IOptions<DetectorOptions> detectorOptions,
    IOptions<DetectionServiceOptions> options, TimeProvider clock, ILogger<DetectionWorker> logger) : BackgroundService
{
    public const string SubscriptionName = "detectors";

    private readonly SemaphoreSlim _engineLock = new(1, 1);
    private DetectionEngine? _engine;
    private StoreSubscription? _subscription;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(RunSubscriptionAsync(stoppingToken), AdvanceWhenIdleAsync(stoppingToken));

    private async Task RunSubscriptionAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                _subscription = new StoreSubscription(store, SubscriptionName, HandleAsync, new SubscriptionOptions
                {
                    BatchSize = options.Value.BatchSize,
                    OnActivated = WarmUpAsync,
                });
                logger.LogInformation("Detectors starting (a standby until no other instance runs them)");
                await _subscription.RunAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is not OperationCanceledException)
            {
                logger.LogWarning("Detectors failed ({Error}); restarting from the checkpoint in {Delay} ms", ex.Message, (int)delay.TotalMilliseconds);
                _engine = null;
                await Task.Delay(delay, stoppingToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, options.Value.MaxRetryDelayMs));
            }
        }
    }

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
            var subscription = _subscription;
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
