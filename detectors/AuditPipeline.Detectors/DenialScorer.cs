using AuditPipeline.Contracts;

namespace AuditPipeline.Detectors;

/// <summary>
/// Denial spike: the minute's denials against the agent's own denial rate applied to the
/// minute's volume, μ = rate × count, z = (denied − μ) / √(μ + 1). Pages when z and the count
/// both pass their gates (probing, or a policy change that breaks an agent). The rate is learned
/// with capped values so a probing burst does not become normal.
/// </summary>
internal sealed class DenialScorer(DetectorOptions options)
{
    private const double RateAlpha = 0.002;
    private double _rate = 0.03;
    private long _minutes;
    private readonly EvidenceRing _observed = new(options.EvidenceWindowMinutes);
    private readonly EvidenceRing _expected = new(options.EvidenceWindowMinutes);

    public readonly record struct Result(double Denied, double Expected, double Z, AlertSeverity Severity, string Headline);

    public Result? Close(long minute, int count, int denied)
    {
        var expected = _rate * count;
        var z = (denied - expected) / Math.Sqrt(expected + 1);
        var warm = _minutes >= options.ColdStartMinutes;
        if (count > 0)
        {
            var capped = Math.Min(denied, expected + (options.DenialZThreshold * Math.Sqrt(expected + 1)));
            _rate = Math.Clamp(_rate + (RateAlpha * ((capped / count) - _rate)), 0.001, 1);
        }
        _minutes++;
        _observed.Add(denied);
        _expected.Add(expected);
        if (!warm || z < options.DenialZThreshold || denied < options.DenialMinCount)
        {
            return null;
        }
        var severity = denied >= 50 || z >= 30 ? AlertSeverity.High : AlertSeverity.Medium;
        return new Result(denied, expected, z, severity, $"{denied} denied actions in a minute, expected about {expected:0.#}");
    }

    public AlertEvidence Evidence(long minute, Result r, List<Guid> deniedEvents, DetectorOptions o)
    {
        var observed = _observed.ToList();
        return new AlertEvidence
        {
            Detector = "denials.spike",
            Explanation = $"{r.Headline}; z = {r.Z:0.0} against the agent's denial rate {_rate:P1} (gate z ≥ {o.DenialZThreshold}, at least {o.DenialMinCount}).",
            Parameters = new Dictionary<string, double>
            {
                ["z"] = Math.Round(r.Z, 3),
                ["z_threshold"] = o.DenialZThreshold,
                ["min_count"] = o.DenialMinCount,
                ["baseline_denial_rate"] = Math.Round(_rate, 6),
            },
            WindowStart = Minutes.Start(minute - observed.Count + 1),
            Observed = observed,
            Baseline = [.. _expected.ToList().Select(v => Math.Round(v, 3))],
            Score = Math.Round(Math.Clamp(r.Z / (2 * o.DenialZThreshold), 0.5, 1), 6),
            EventIds = [.. deniedEvents.Take(o.EvidenceMaxEventIds)],
        };
    }
}
