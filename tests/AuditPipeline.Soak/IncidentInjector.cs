using AuditPipeline.Emitter;

namespace AuditPipeline.Soak;

/// <summary>
/// At known times during the soak, a fresh agent appears with 40 minutes of normal history
/// (6–10 actions a minute), a 6-minute runaway at 300 a minute starting 20 minutes ago, and quiet
/// since: the volume detectors' textbook incident (as in AlertTests). Each such agent must give
/// exactly one incident, however often the detector is killed meanwhile.
/// </summary>
public sealed class IncidentInjector(string bootstrapServers, string topic, SoakOptions options, AckLedger ledger, Action<string> log)
{
    public const string AgentPrefix = "soak-runaway";
    private readonly List<(string Agent, DateTimeOffset At)> _injected = [];

    public IReadOnlyList<(string Agent, DateTimeOffset At)> Injected => _injected;

    /// <summary>Evenly spread over the run: at 1/(n+1), 2/(n+1), … of its duration.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var start = DateTimeOffset.UtcNow;
        for (var i = 0; i < options.Incidents; i++)
        {
            var at = start + (options.Duration * (i + 1) / (options.Incidents + 1));
            var wait = at - DateTimeOffset.UtcNow;
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, ct);
                }
                catch (OperationCanceledException)
                {
                    return; // the run ended first; only what was injected counts
                }
            }
            var agent = await InjectAsync(i);
            _injected.Add((agent, DateTimeOffset.UtcNow));
            log($"soak: +{(DateTimeOffset.UtcNow - start).TotalSeconds:0}s ({DateTimeOffset.UtcNow:HH:mm:ss.fff}) injected a runaway: {agent}");
        }
    }

    private async Task<string> InjectAsync(int index)
    {
        var fleet = new SampleFleet(1, seed: options.Seed + index, idPrefix: $"{AgentPrefix}-{index:D2}");
        var agent = fleet.Agents[0];
        var now = DateTimeOffset.UtcNow;
        var minuteNow = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        var (from, to) = (minuteNow.AddMinutes(-60), minuteNow.AddMinutes(-1));
        var (runawayFrom, runawayTo) = (minuteNow.AddMinutes(-20), minuteNow.AddMinutes(-14));
        var random = new Random(options.Seed + index);
        using var emitter = new TrackedEmitter(bootstrapServers, topic, ledger);
        for (var minute = from; minute < to; minute = minute.AddMinutes(1))
        {
            var count = minute >= runawayFrom && minute < runawayTo ? 300 : 6 + random.Next(5);
            for (var i = 0; i < count; i++)
            {
                await emitter.EnqueueAsync(fleet.Next(agent, minute.AddSeconds(i * 59.0 / count)));
            }
        }
        emitter.Flush(TimeSpan.FromMinutes(2));
        return agent.Id;
    }
}
