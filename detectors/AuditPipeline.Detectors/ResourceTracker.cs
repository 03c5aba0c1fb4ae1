using AuditPipeline.Contracts;

namespace AuditPipeline.Detectors;

/// <summary>
/// Resource-set deviation for one agent, evaluated per closed minute once the agent's baseline
/// set has formed (ResourceWarmupMinutes after its first event):
/// <list type="bullet">
/// <item>first-seen fan-out: resources never touched in the baseline (or not for ResourceBaselineDays),
/// counted over a sliding window; SensitiveFanOut new confidential-or-above resources, any new
/// secret, or NewResourceFanOut new resources of any kind page. Severity grows with sensitivity and fan-out;</item>
/// <item>rare resource: touched RareMinTouches times in a minute while its share of the agent's
/// history is below RareShare;</item>
/// <item>set drift: per hour, the share of the hour's resources outside the baseline set, against
/// the agent's own history of that share (mean + DriftSigmas·sd, at least DriftMinShare).</item>
/// </list>
/// The distinct-resource count spike runs on the count series in <see cref="AgentDetectors"/>.
/// </summary>
internal sealed class ResourceTracker(DetectorOptions options)
{
    private readonly Dictionary<string, (long Touches, long LastMinute)> _seen = new(StringComparer.Ordinal);
    private readonly Queue<(long Minute, string Resource, Sensitivity Sensitivity, Guid EventId)> _recentNew = new();
    private readonly HashSet<string> _hour = new(StringComparer.Ordinal);
    private int _hourNew;
    private long _touches;
    private int _driftSamples;
    private double _driftMean;
    private double _driftM2;

    public void Close(long minute, long firstMinute, Bucket bucket, AgentDetectors agent, List<Finding> findings)
    {
        var warm = minute - firstMinute >= options.ResourceWarmupMinutes;
        var staleBefore = minute - (options.ResourceBaselineDays * (long)Minutes.PerDay);
        foreach (var (resource, (touches, sensitivity, firstEvent)) in bucket.Resources)
        {
            var known = _seen.TryGetValue(resource, out var history) && history.LastMinute >= staleBefore;
            if (!known && warm)
            {
                _recentNew.Enqueue((minute, resource, sensitivity, firstEvent));
            }
            if (warm && known && touches >= options.RareMinTouches && _touches >= options.RareMinHistory
                && (double)history.Touches / _touches < options.RareShare)
            {
                findings.Add(agent.Build(IncidentGroup.Behaviour, "resources", AlertSeverity.Medium, minute,
                    $"rarely used resource {resource} touched {touches} times in a minute",
                    new AlertEvidence
                    {
                        Detector = "resources.rare",
                        Explanation = $"{resource} had {history.Touches} of the agent's {_touches} past actions (below {options.RareShare:P2}) and {touches} in this minute.",
                        Parameters = new Dictionary<string, double> { ["rare_share"] = options.RareShare, ["min_touches"] = options.RareMinTouches, ["history_touches"] = history.Touches },
                        WindowStart = Minutes.Start(minute),
                        Observed = [touches],
                        Baseline = [Math.Round((double)history.Touches / Math.Max(1, _touches), 6)],
                        Score = 0.8,
                        EventIds = [firstEvent],
                        Resources = [resource],
                    }));
            }
            _hour.Add(resource);
            if (!known)
            {
                _hourNew++;
            }
            _seen[resource] = (known ? history.Touches + touches : touches, minute);
            _touches += touches;
        }

        while (_recentNew.Count > 0 && _recentNew.Peek().Minute <= minute - options.FanOutWindowMinutes)
        {
            _recentNew.Dequeue();
        }
        if (bucket.Resources.Count > 0 && _recentNew.Count > 0 && _recentNew.Any(n => n.Minute == minute))
        {
            EvaluateFanOut(minute, agent, findings);
        }
        if ((minute + 1) % 60 == 0)
        {
            EvaluateDrift(minute, warm, agent, findings);
        }
    }

    private void EvaluateFanOut(long minute, AgentDetectors agent, List<Finding> findings)
    {
        var sensitive = _recentNew.Where(n => n.Sensitivity >= Sensitivity.Confidential).ToList();
        var secret = sensitive.Any(n => n.Sensitivity == Sensitivity.Secret);
        if (sensitive.Count < options.SensitiveFanOut && !secret && _recentNew.Count < options.NewResourceFanOut)
        {
            return;
        }
        var severity = secret || sensitive.Count >= 3 * options.SensitiveFanOut ? AlertSeverity.Critical
            : sensitive.Count >= options.SensitiveFanOut ? AlertSeverity.High
            : AlertSeverity.Medium;
        var classes = string.Join(", ", sensitive.Select(n => WireNames.Of(n.Sensitivity)).Distinct());
        var headline = sensitive.Count > 0
            ? $"{sensitive.Count} never-seen sensitive resources ({classes}) in {options.FanOutWindowMinutes} minutes"
            : $"{_recentNew.Count} never-seen resources in {options.FanOutWindowMinutes} minutes";
        findings.Add(agent.Build(IncidentGroup.Behaviour, "resources", severity, minute, headline, new AlertEvidence
        {
            Detector = "resources.first_seen",
            Explanation = $"{headline}; the agent's baseline holds {_seen.Count} resources.",
            Parameters = new Dictionary<string, double>
            {
                ["fan_out_window_minutes"] = options.FanOutWindowMinutes,
                ["sensitive_fan_out"] = options.SensitiveFanOut,
                ["new_resource_fan_out"] = options.NewResourceFanOut,
                ["baseline_resources"] = _seen.Count,
            },
            WindowStart = Minutes.Start(_recentNew.Peek().Minute),
            Observed = [_recentNew.Count, sensitive.Count],
            Score = Math.Round(Math.Min(1, 0.5 + (0.05 * Math.Max(sensitive.Count, _recentNew.Count / 5.0))), 6),
            EventIds = [.. _recentNew.Select(n => n.EventId).Take(options.EvidenceMaxEventIds)],
            Resources = [.. _recentNew.Select(n => $"{n.Resource} ({WireNames.Of(n.Sensitivity)})").Take(options.EvidenceMaxEventIds)],
        }));
    }

    private void EvaluateDrift(long minute, bool warm, AgentDetectors agent, List<Finding> findings)
    {
        var hourSize = _hour.Count;
        var share = hourSize == 0 ? 0 : (double)_hourNew / hourSize;
        _hour.Clear();
        _hourNew = 0;
        if (!warm || hourSize == 0)
        {
            return;
        }
        var sd = _driftSamples > 1 ? Math.Sqrt(_driftM2 / (_driftSamples - 1)) : 0;
        var limit = Math.Max(options.DriftMinShare, _driftMean + (options.DriftSigmas * sd));
        if (_driftSamples >= options.DriftMinHistory && share >= limit)
        {
            findings.Add(agent.Build(IncidentGroup.Behaviour, "resources", AlertSeverity.Low, minute,
                $"{share:P0} of the last hour's {hourSize} resources are outside the agent's usual set",
                new AlertEvidence
                {
                    Detector = "resources.set_drift",
                    Explanation = $"Share of resources outside the baseline set: {share:P0} this hour; usual {_driftMean:P1} ± {sd:P1}; limit {limit:P0}.",
                    Parameters = new Dictionary<string, double> { ["limit"] = Math.Round(limit, 6), ["sigmas"] = options.DriftSigmas, ["min_share"] = options.DriftMinShare },
                    WindowStart = Minutes.Start(minute - 59),
                    Observed = [Math.Round(share, 6)],
                    Baseline = [Math.Round(_driftMean, 6)],
                    Score = Math.Round(Math.Clamp(share, 0, 1), 6),
                }));
            return; // an anomalous hour does not become part of the normal history
        }
        _driftSamples++;
        var delta = share - _driftMean;
        _driftMean += delta / _driftSamples;
        _driftM2 += delta * (share - _driftMean);
    }
}
