using System.Globalization;

namespace AuditPipeline.Soak;

/// <summary>
/// What one soak run does. Environment overrides: SOAK_SECONDS (how long faults are injected
/// while producing), SOAK_SEED (the fault schedule; printed so a failing run can be repeated),
/// SOAK_RATE (events per second), SOAK_AGENTS, SOAK_INCIDENTS, SOAK_PARTITIONS, SOAK_LOG_DIR.
/// </summary>
public sealed record SoakOptions
{
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(120);
    public int Seed { get; init; } = Environment.TickCount & 0x7fffffff;

    /// <summary>Steady traffic over the whole run, round-robin over <see cref="Agents"/>.</summary>
    public int EventsPerSecond { get; init; } = 300;

    /// <summary>
    /// 40 agents at 300 events/s is 450 actions a minute each: under the detectors' absolute
    /// ceiling (600 a minute), so the steady traffic raises no incident of its own.
    /// </summary>
    public int Agents { get; init; } = 40;

    /// <summary>Runaway agents injected at known times, each of which must give exactly one incident.</summary>
    public int Incidents { get; init; } = 3;

    /// <summary>The dev broker keeps ~5 MB per partition; more partitions hold longer runs.</summary>
    public int Partitions { get; init; } = 24;

    /// <summary>Pause between two faults: uniform in [min, max].</summary>
    public TimeSpan MinFaultInterval { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan MaxFaultInterval { get; init; } = TimeSpan.FromSeconds(7);

    /// <summary>After the faults stop: how long everything may take to catch up before the checks run anyway.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>Where the services' output goes when a check fails (or always, when SOAK_LOG_DIR is set).</summary>
    public string? LogDirectory { get; init; }

    public static SoakOptions FromEnvironment(TimeSpan defaultDuration)
    {
        var defaults = new SoakOptions();
        return defaults with
        {
            Duration = TimeSpan.FromSeconds(Int("SOAK_SECONDS", (int)defaultDuration.TotalSeconds)),
            Seed = Int("SOAK_SEED", defaults.Seed),
            EventsPerSecond = Int("SOAK_RATE", defaults.EventsPerSecond),
            Agents = Int("SOAK_AGENTS", defaults.Agents),
            Incidents = Int("SOAK_INCIDENTS", defaults.Incidents),
            Partitions = Int("SOAK_PARTITIONS", defaults.Partitions),
            LogDirectory = Environment.GetEnvironmentVariable("SOAK_LOG_DIR") is { Length: > 0 } dir ? dir : null,
        };
    }

    private static int Int(string name, int fallback) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? int.Parse(value, NumberStyles.Integer, CultureInfo.InvariantCulture)
            : fallback;
}
