using System.Globalization;

namespace AuditPipeline.Soak;

/// <summary>One soak run: what was done to the pipeline and what the checks found.</summary>
public sealed record SoakReport(
    SoakOptions Options,
    TimeSpan FaultWindow,
    long Produced,
    int Acknowledged,
    IReadOnlyDictionary<string, int> DeliveryFailures,
    IReadOnlyDictionary<Fault, int> Faults,
    int LeaderMoves,
    int IncidentsInjected,
    SoakFindings Findings)
{
    public int Kills => Faults[Fault.KillIngest] + Faults[Fault.KillProjector] + Faults[Fault.KillDetector] + Faults[Fault.KillApi];
    public int Restarts => Faults[Fault.RestartPostgres] + Faults[Fault.RestartClickHouse];
    public bool Passed => Findings.Problems().Count == 0;

    public string Summary => string.Create(CultureInfo.InvariantCulture,
        $"soak: {FaultWindow.TotalSeconds:0} s, events produced = {Produced}, acknowledged = {Acknowledged}, " +
        $"kills = {Kills} (ingest {Faults[Fault.KillIngest]}, projector {Faults[Fault.KillProjector]}, detector {Faults[Fault.KillDetector]}, api {Faults[Fault.KillApi]}), " +
        $"restarts = {Restarts} (postgres {Faults[Fault.RestartPostgres]}, clickhouse {Faults[Fault.RestartClickHouse]}), " +
        $"leader moves = {LeaderMoves}, incidents injected = {IncidentsInjected}, raised = {Findings.IncidentsRaised}, " +
        $"lost = {Findings.Lost.Count}, duplicated = {Findings.Duplicated.Count}");

    /// <summary>The lines before the summary: seed, delivery failures, everything the checks found.</summary>
    public IEnumerable<string> Details()
    {
        yield return string.Create(CultureInfo.InvariantCulture,
            $"soak: seed {Options.Seed} (SOAK_SEED={Options.Seed} repeats the fault order), {Options.EventsPerSecond} events/s over {Options.Agents} agents, {Options.Partitions} partitions on 3 brokers");
        if (DeliveryFailures.Count > 0)
        {
            yield return "soak: deliveries failed (not acknowledged, so not required in the store): " + string.Join(", ", DeliveryFailures.Select(f => $"{f.Key} {f.Value}"));
        }
        if (Findings.StoredUnacknowledged > 0)
        {
            yield return $"soak: {Findings.StoredUnacknowledged} stored events had a failed delivery report (they landed anyway)";
        }
        yield return $"soak: {Findings.ChainVerify.Output.Trim()}";
        yield return $"soak: {Findings.CheckpointVerify.Output.Trim().Split('\n')[^1]}";
        foreach (var problem in Findings.Problems())
        {
            yield return "soak: PROBLEM " + problem;
        }
    }
}
