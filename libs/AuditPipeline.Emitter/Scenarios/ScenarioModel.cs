using AuditPipeline.Contracts;

namespace AuditPipeline.Emitter.Scenarios;

/// <summary>The misbehaviours the scenario generator injects (labels for the detection benchmark).</summary>
public enum IncidentKind
{
    RunawayLoop,
    SlowRamp,
    OffHoursBurst,
    SensitiveFanOut,
    BudgetBurn,
    DenialProbing,
    Ownerless,
}

/// <summary>One injected incident: which agent, what, and when it starts and ends (event time).</summary>
public sealed record ScenarioIncident(IncidentKind Kind, string AgentId, DateTimeOffset Onset, DateTimeOffset End);

public sealed record ScenarioOptions
{
    public int Agents { get; init; } = 200;
    public int Days { get; init; } = 7;
    /// <summary>Overrides <see cref="Days"/> for short runs (the live demo); incidents are then placed anywhere after IncidentEarliest.</summary>
    public TimeSpan? Length { get; init; }
    /// <summary>First simulated minute (UTC). The default is a Monday.</summary>
    public DateTimeOffset Start { get; init; } = new(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);
    /// <summary>Incidents of each kind (ownerless agents are extra agents on top of <see cref="Agents"/>).</summary>
    public int IncidentsPerKind { get; init; } = 30;
    /// <summary>Which kinds to inject (all when null).</summary>
    public IReadOnlyList<IncidentKind>? Kinds { get; init; }
    /// <summary>Share of agents that are noisy but normal (bursty, overdispersed); they get no incidents.</summary>
    public double NoisyShare { get; init; } = 0.15;
    /// <summary>No incident starts before this much history exists (detectors need a baseline).</summary>
    public TimeSpan IncidentEarliest { get; init; } = TimeSpan.FromHours(30);
    public int Seed { get; init; } = 7;
    public string IdPrefix { get; init; } = "sim";
    /// <summary>Scales every agent's rate (the live demo uses less traffic than the benchmark).</summary>
    public double RateScale { get; init; } = 1;
}

/// <summary>A simulated agent's traffic profile.</summary>
public sealed record ScenarioAgent(
    int Index,
    AgentIdentity Identity,
    double PeakRatePerMinute,
    int HourShift,
    bool BusinessHours,
    double WeekendFactor,
    double Overdispersion,
    bool Noisy,
    IReadOnlyList<(string Type, string Id, Sensitivity Sensitivity)> Pool,
    double CostPerActionUsd,
    double DenialRate,
    double DailyBudgetUsd,
    DateTimeOffset ActiveFrom);

/// <summary>One generated action, small enough for a week of a fleet; <see cref="ScenarioGenerator.ToEvent"/> makes the full event.</summary>
public readonly record struct ScenarioAction(
    int Agent, DateTimeOffset At, bool Denied, int InputTokens, int OutputTokens, decimal CostUsd,
    string ResourceType, string ResourceId, Sensitivity Sensitivity);
