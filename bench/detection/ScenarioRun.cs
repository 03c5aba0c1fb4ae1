using System.Diagnostics;
using AuditPipeline.Contracts;
using AuditPipeline.Detectors;
using AuditPipeline.Emitter.Scenarios;

namespace AuditPipeline.Bench.Detection;

/// <summary>Generates the scenario and feeds it to the engine (timed), then to the bound (timed).</summary>
internal sealed record ScenarioRun(
    ScenarioGenerator Generator, IReadOnlyList<ScenarioIncident> Incidents, List<AgentAlert> Opened, int AllChanges,
    long Actions, long Points, TimeSpan DetectTime, TimeSpan BoundTime)
{
    public static ScenarioRun Execute(ScenarioOptions scenario)
    {
        var generator = new ScenarioGenerator(scenario);
        var options = new DetectorOptions { AgentDailyBudgetsUsd = generator.AgentBudgets() };
        var engine = new DetectionEngine(options);
        var alerts = new List<AgentAlert>();
        var detect = new Stopwatch();
        long actions = 0, sequence = 0;
        foreach (var (minute, batch) in generator.Minutes())
        {
            var observations = batch.Select(a => Observe(generator, a, ++sequence)).ToList();
            actions += observations.Count;
            detect.Start();
            foreach (var o in observations)
            {
                engine.Observe(o, alerts);
            }
            engine.AdvanceTo(minute.AddMinutes(1).AddSeconds(options.CloseDelaySeconds), alerts);
            detect.Stop();
        }

        var bound = new Stopwatch();
        var buckets = new Dictionary<string, (long Minute, int Count, double Average)>(StringComparer.Ordinal);
        var sink = 0.0;
        var boundGenerator = new ScenarioGenerator(scenario);
        sequence = 0;
        foreach (var (minute, batch) in boundGenerator.Minutes())
        {
            var observations = batch.Select(a => Observe(boundGenerator, a, ++sequence)).ToList();
            bound.Start();
            foreach (var o in observations)
            {
                var b = buckets.GetValueOrDefault(o.AgentId);
                buckets[o.AgentId] = (b.Minute, b.Count + 1, b.Average);
            }
            foreach (var (agent, b) in buckets)
            {
                var average = b.Average + (0.05 * (b.Count - b.Average));
                sink += average;
                buckets[agent] = (b.Minute + 1, 0, average);
            }
            bound.Stop();
        }
        GC.KeepAlive(sink);

        return new ScenarioRun(generator, generator.Incidents, [.. alerts.Where(a => a.Change == AlertChange.Opened)], alerts.Count,
            actions, engine.PointsScored, detect.Elapsed, bound.Elapsed);
    }

    private static ActionObservation Observe(ScenarioGenerator generator, ScenarioAction a, long sequence)
    {
        var agent = generator.Agents[a.Agent].Identity;
        return new ActionObservation(new Guid((int)sequence, (short)(sequence >> 32), 0, new byte[8]), agent.Id, agent.Owner, agent.RiskTier, a.At,
            a.Denied, a.InputTokens + a.OutputTokens, (double)a.CostUsd, $"{a.ResourceType}:{a.ResourceId}", a.Sensitivity);
    }
}
