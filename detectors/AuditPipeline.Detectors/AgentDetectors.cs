using AuditPipeline.Contracts;

namespace AuditPipeline.Detectors;

/// <summary>One agent's minute: counts, spend and what was touched (with a few event ids as evidence).</summary>
internal sealed class Bucket
{
    public int Count;
    public int Denied;
    public long Tokens;
    public double Cost;
    public readonly Dictionary<string, (int Touches, Sensitivity Sensitivity, Guid FirstEvent)> Resources = new(StringComparer.Ordinal);
    public readonly List<Guid> SampleEvents = [];
    public readonly List<Guid> DeniedEvents = [];

    public void Add(in ActionObservation o, int maxIds)
    {
        Count++;
        Tokens += o.Tokens;
        Cost += o.CostUsd;
        if (o.Denied)
        {
            Denied++;
            if (DeniedEvents.Count < maxIds)
            {
                DeniedEvents.Add(o.EventId);
            }
        }
        if (SampleEvents.Count < maxIds)
        {
            SampleEvents.Add(o.EventId);
        }
        Resources[o.Resource] = Resources.TryGetValue(o.Resource, out var r)
            ? (r.Touches + 1, r.Sensitivity, r.FirstEvent)
            : (1, o.Sensitivity, o.EventId);
    }
}

/// <summary>
/// All detectors of one agent, fed one closed minute at a time (gap-filled: a quiet minute is
/// a bucket with zeros). Each returns findings only when it would page; the thresholds are in
/// <see cref="DetectorOptions"/>.
/// </summary>
internal sealed class AgentDetectors
{
    private readonly DetectorOptions _options;
    private readonly CountSeriesScorer _volume;
    private readonly CountSeriesScorer _distinct;
    private readonly DenialScorer _denials;
    private readonly ResourceTracker _resources;
    private readonly CostTracker _cost;
    private long _lastVolumeAnomaly = long.MinValue;
    private long _lastDistinctAnomaly = long.MinValue;

    public AgentDetectors(string agentId, long firstMinute, DetectorOptions options)
    {
        AgentId = agentId;
        FirstMinute = firstMinute;
        _options = options;
        _volume = new CountSeriesScorer(options);
        _distinct = new CountSeriesScorer(options, minExcess: 5);
        _denials = new DenialScorer(options);
        _resources = new ResourceTracker(options);
        _cost = new CostTracker(options);
    }

    public string AgentId { get; }
    public long FirstMinute { get; }
    public string? Owner { get; set; }
    public RiskTier? Tier { get; set; }
    public bool OwnerMissing { get; set; }

    /// <summary>Scores a closed minute and learns from it.</summary>
    public void Close(long minute, Bucket bucket, List<Finding> findings)
    {
        var volume = _volume.Close(minute, bucket.Count);
        if (ShouldReport(volume, minute, ref _lastVolumeAnomaly))
        {
            findings.Add(VolumeFinding("volume", "volume.spike", minute, volume, _volume, bucket.SampleEvents,
                $"{bucket.Count} actions in a minute, expected about {volume.Expected:0.#}"));
        }
        var distinct = _distinct.Close(minute, bucket.Resources.Count);
        if (ShouldReport(distinct, minute, ref _lastDistinctAnomaly))
        {
            findings.Add(VolumeFinding("resources", "resources.distinct_spike", minute, distinct, _distinct, bucket.SampleEvents,
                $"{bucket.Resources.Count} distinct resources in a minute, expected about {distinct.Expected:0.#}"));
        }
        var denial = _denials.Close(minute, bucket.Count, bucket.Denied);
        if (denial is not null)
        {
            findings.Add(Build(IncidentGroup.Behaviour, "denials", denial.Value.Severity, minute, denial.Value.Headline,
                _denials.Evidence(minute, denial.Value, bucket.DeniedEvents, _options)));
        }
        _resources.Close(minute, FirstMinute, bucket, this, findings);
        _cost.Close(minute, bucket.Cost, this, findings);
        if (OwnerMissing)
        {
            var severity = Tier is RiskTier.High or RiskTier.Critical ? AlertSeverity.High : AlertSeverity.Medium;
            var headline = Owner is null ? "agent has no accountable owner" : $"agent's owner {Owner} is not a registered owner";
            findings.Add(Build(IncidentGroup.Ownership, "ownership", severity, minute, headline, new AlertEvidence
            {
                Detector = "ownership.unowned",
                Explanation = $"{AgentId}: {headline} (risk tier {(Tier is { } t ? WireNames.Of(t) : "unknown")}).",
                WindowStart = Minutes.Start(minute),
                Observed = [bucket.Count],
                Score = 1,
                EventIds = [.. bucket.SampleEvents.Take(_options.EvidenceMaxEventIds)],
            }));
        }
    }

    /// <summary>A late event changed an already scored minute: score it again (without learning twice).</summary>
    public void Rescore(long minute, Bucket bucket, List<Finding> findings)
    {
        var volume = _volume.Score(minute, bucket.Count);
        if (volume.Anomalous && volume.Z >= _options.VolumeImmediateZ)
        {
            findings.Add(VolumeFinding("volume", "volume.spike", minute, volume, _volume, bucket.SampleEvents,
                $"{bucket.Count} actions in a minute (re-scored after late events), expected about {volume.Expected:0.#}"));
        }
    }

    internal Finding Build(IncidentGroup group, string category, AlertSeverity severity, long minute, string headline, AlertEvidence evidence) =>
        new(AgentId, Owner, group, category, severity, minute, headline, evidence);

    internal DetectorOptions Options => _options;

    /// <summary>Immediate for a large z (or the ceiling); otherwise two anomalous buckets within three minutes.</summary>
    private bool ShouldReport(SeriesScore score, long minute, ref long lastAnomaly)
    {
        if (!score.Anomalous)
        {
            return false;
        }
        var report = score.Z >= _options.VolumeImmediateZ || score.Observed >= _options.AbsoluteCeilingPerMinute || minute - lastAnomaly <= 2;
        lastAnomaly = minute;
        return report;
    }

    private Finding VolumeFinding(string category, string detector, long minute, SeriesScore s, CountSeriesScorer scorer, List<Guid> events, string headline)
    {
        var severity = s.Z >= 30 || s.Observed >= _options.AbsoluteCeilingPerMinute ? AlertSeverity.Critical
            : s.Z >= 15 ? AlertSeverity.High : AlertSeverity.Medium;
        var (observed, expected) = scorer.Window();
        return Build(IncidentGroup.Behaviour, category, severity, minute, headline, new AlertEvidence
        {
            Detector = detector,
            Explanation = $"{headline}; deseasonalized z = {s.Z:0.0} (gate {_options.VolumeZThreshold}), IID p = {s.PValue:0.######}, SR score = {s.SrScore:0.###}.",
            Parameters = new Dictionary<string, double>
            {
                ["z"] = Math.Round(s.Z, 3),
                ["z_threshold"] = _options.VolumeZThreshold,
                ["immediate_z"] = _options.VolumeImmediateZ,
                ["min_excess"] = _options.VolumeMinExcess,
                ["iid_history"] = _options.IidHistory,
                ["iid_confidence"] = _options.IidConfidence,
                ["iid_p"] = s.PValue,
                ["sr_threshold"] = _options.SrThreshold,
                ["sr_score"] = Math.Round(s.SrScore, 6),
            },
            WindowStart = Minutes.Start(minute - observed.Count + 1),
            Observed = observed,
            Baseline = [.. expected.Select(v => Math.Round(v, 3))],
            Score = Math.Round(s.Score, 6),
            EventIds = [.. events.Take(_options.EvidenceMaxEventIds)],
        });
    }
}
