using System.ComponentModel.DataAnnotations;

namespace AuditPipeline.Detectors;

/// <summary>
/// Every detector parameter, with the defaults the benchmark's labelled scenarios were measured
/// with (docs/detectors.md explains each). Configuration section <c>Detectors</c>.
/// </summary>
public sealed class DetectorOptions
{
    public const string Section = "Detectors";

    // ---- buckets and time ----
    /// <summary>A minute's bucket is scored this long after the minute ends (in event time), so slightly late events are in it.</summary>
    [Range(0, 300)] public int CloseDelaySeconds { get; set; } = 10;
    /// <summary>Events up to this late (after their bucket was scored) are added and the bucket is re-scored; later ones are only stored.</summary>
    [Range(0, 1440)] public int AllowedLatenessMinutes { get; set; } = 5;

    // ---- volume (and distinct-resource count) spikes on the deseasonalized series ----
    /// <summary>No volume or resource alerts before an agent has this much history (cold start); only the absolute ceiling applies.</summary>
    [Range(1, 100_000)] public int ColdStartMinutes { get; set; } = 60;
    /// <summary>Actions per minute that alert regardless of history (a loop on a brand-new agent).</summary>
    [Range(1, 10_000_000)] public double AbsoluteCeilingPerMinute { get; set; } = 600;
    /// <summary>Deseasonalized z-score gate: (observed − expected) / √(expected + φ·expected² + 1).</summary>
    [Range(1, 100)] public double VolumeZThreshold { get; set; } = 6;
    /// <summary>A bucket this far above opens an incident at once; between the two gates it takes two anomalous buckets in three.</summary>
    [Range(1, 1000)] public double VolumeImmediateZ { get; set; } = 12;
    /// <summary>While the hour-of-day baseline for a minute is still cold (first day, first weekend), the z gate is multiplied by this.</summary>
    [Range(1, 10)] public double ColdSlotGateFactor { get; set; } = 2;
    /// <summary>Minimum excess over the expected count, so tiny agents do not page for 3 actions instead of 0.</summary>
    [Range(0, 1_000_000)] public double VolumeMinExcess { get; set; } = 5;
    /// <summary>A gate held this many minutes in a row is anomalous without the distribution tests (slow ramps adapt those away).</summary>
    [Range(1, 1440)] public int VolumeSustainedMinutes { get; set; } = 5;
    /// <summary>IID kernel-density detector on the residuals: history W and confidence.</summary>
    [Range(2, 10_000)] public int IidHistory { get; set; } = 100;
    [Range(50, 99.999999)] public double IidConfidence { get; set; } = 99.9;
    /// <summary>Spectral Residual threshold on the residual series (window 64, look-ahead 5, q 3, z 21).</summary>
    [Range(0.01, 1)] public double SrThreshold { get; set; } = 0.3;

    // ---- denials ----
    [Range(1, 100)] public double DenialZThreshold { get; set; } = 6;
    [Range(1, 1_000_000)] public int DenialMinCount { get; set; } = 8;

    // ---- resources ----
    /// <summary>Resource detectors start once an agent has been seen this long (its baseline set).</summary>
    [Range(1, 100_000)] public int ResourceWarmupMinutes { get; set; } = 360;
    /// <summary>A resource not touched for this long counts as new again.</summary>
    [Range(1, 3650)] public int ResourceBaselineDays { get; set; } = 30;
    [Range(1, 1440)] public int FanOutWindowMinutes { get; set; } = 10;
    /// <summary>New confidential-or-above resources within the window that alert (any new secret alerts alone).</summary>
    [Range(1, 10_000)] public int SensitiveFanOut { get; set; } = 4;
    /// <summary>New resources of any sensitivity within the window that alert.</summary>
    [Range(1, 100_000)] public int NewResourceFanOut { get; set; } = 25;
    /// <summary>Rare resource: historical share below this, touched at least RareMinTouches times in one minute.</summary>
    [Range(0, 1)] public double RareShare { get; set; } = 0.002;
    [Range(1, 1_000_000)] public int RareMinTouches { get; set; } = 30;
    [Range(1, 100_000_000)] public int RareMinHistory { get; set; } = 2000;
    /// <summary>Set drift: share of an hour's resources outside the agent's baseline set, against the agent's own history.</summary>
    [Range(0, 1)] public double DriftMinShare { get; set; } = 0.5;
    [Range(1, 100)] public double DriftSigmas { get; set; } = 4;
    [Range(2, 100_000)] public int DriftMinHistory { get; set; } = 24;

    // ---- cost ----
    /// <summary>Daily (UTC) budgets in USD by agent id and by owner; DefaultAgentDailyBudgetUsd applies to agents not listed.</summary>
    public Dictionary<string, double> AgentDailyBudgetsUsd { get; set; } = [];
    public Dictionary<string, double> OwnerDailyBudgetsUsd { get; set; } = [];
    [Range(0, 1e12)] public double? DefaultAgentDailyBudgetUsd { get; set; }
    /// <summary>Spend rate: exponentially weighted over this half-life in minutes.</summary>
    [Range(1, 1440)] public double CostRateHalfLifeMinutes { get; set; } = 5;
    /// <summary>The rate must also be this many times the agent's seasonal spend (so a normal peak hour does not page).</summary>
    [Range(1, 1000)] public double CostRateMultiple { get; set; } = 3;
    /// <summary>Only a projected exhaustion within this many minutes pages (a budget that would run out at 23:50 is a report, not a page).</summary>
    [Range(1, 1440)] public int CostHorizonMinutes { get; set; } = 240;

    // ---- ownership ----
    /// <summary>When not empty, owners outside this list count as unregistered.</summary>
    public List<string> KnownOwners { get; set; } = [];

    // ---- incidents ----
    /// <summary>An incident recovers after this many minutes without findings.</summary>
    [Range(1, 100_000)] public int IncidentQuietMinutes { get; set; } = 15;
    /// <summary>After a person resolves an incident, the same subject does not reopen for this long.</summary>
    [Range(0, 100_000)] public int ResolveSuppressionMinutes { get; set; } = 60;
    [Range(1, 1440)] public int EvidenceWindowMinutes { get; set; } = 30;
    [Range(1, 1000)] public int EvidenceMaxEventIds { get; set; } = 20;
}
