using AuditPipeline.Core.Contract;

namespace AuditPipeline.Detectors;

/// <summary>
/// The detectors for a whole fleet, driven by event time. Observations go into per-agent
/// one-minute buckets; <see cref="AdvanceTo"/> closes every minute that ended CloseDelaySeconds
/// before the watermark, for every known agent (gap-filled), runs the detectors and the
/// combiner and returns the alert changes. Observations for a minute already closed but within
/// AllowedLatenessMinutes are added and the minute is re-scored; older ones are counted in
/// <see cref="TooLate"/> and left out (they are still in the store). Deterministic: the same
/// observations in the same order give the same alerts, which is what makes a rebuild from the
/// store reproduce them.
/// </summary>
public sealed class DetectionEngine(DetectorOptions options)
{
    private readonly Dictionary<string, AgentSlot> _agents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OwnerSlot> _owners = new(StringComparer.Ordinal);
    private IncidentCombiner _combiner = new(options);
    private readonly List<Finding> _findings = [];
    private long _closedThrough = long.MinValue;

    public DetectorOptions Options => options;

    /// <summary>Last minute scored for every agent (none before the first observation).</summary>
    public DateTimeOffset? ClosedThrough => _closedThrough == long.MinValue ? null : Minutes.Start(_closedThrough + 1);

    /// <summary>Observations older than the allowed lateness, not scored.</summary>
    public long TooLate { get; private set; }

    /// <summary>Agent-minutes scored so far (the throughput unit of bench/detection).</summary>
    public long PointsScored { get; private set; }

    public int Agents => _agents.Count;

    public int OpenIncidents => _combiner.OpenIncidents;

    public void Observe(in ActionObservation o, List<AgentAlert> output)
    {
        var minute = Minutes.Of(o.At);
        if (_closedThrough == long.MinValue)
        {
            _closedThrough = minute - 1;
        }
        if (!_agents.TryGetValue(o.AgentId, out var slot))
        {
            slot = new AgentSlot(new AgentDetectors(o.AgentId, minute, options));
            _agents[o.AgentId] = slot;
        }
        var agent = slot.Detectors;
        agent.Owner = o.Owner;
        agent.Tier = o.Tier;
        agent.OwnerMissing = o.Owner is null || (options.KnownOwners.Count > 0 && !options.KnownOwners.Contains(o.Owner));

        if (minute > _closedThrough)
        {
            slot.BucketFor(minute).Add(o, options.EvidenceMaxEventIds);
        }
        else if (minute > _closedThrough - options.AllowedLatenessMinutes && slot.Closed.TryGetValue(minute, out var closed))
        {
            closed.Add(o, options.EvidenceMaxEventIds);
            _findings.Clear();
            agent.Rescore(minute, closed, _findings);
            _combiner.OnFindings(_findings, output);
        }
        else
        {
            TooLate++;
        }
    }

    /// <summary>Closes every minute whose end is at least CloseDelaySeconds before <paramref name="watermark"/>.</summary>
    public void AdvanceTo(DateTimeOffset watermark, List<AgentAlert> output)
    {
        if (_closedThrough == long.MinValue)
        {
            return;
        }
        var last = Minutes.Of(watermark.AddSeconds(-options.CloseDelaySeconds)) - 1;
        for (var minute = _closedThrough + 1; minute <= last; minute++)
        {
            CloseMinute(minute, output);
        }
    }

    /// <summary>Alert events read back from the store: seeds open incidents, applies acknowledge and resolve.</summary>
    public void Apply(AgentAlert alert) => _combiner.Apply(alert);

    /// <summary>
    /// Makes the store the truth about incidents after a warm-up replay: forgets the incidents the
    /// replay opened and applies the stored alert changes instead.
    /// </summary>
    public void ResetIncidents(IEnumerable<AgentAlert> stored)
    {
        _combiner = new IncidentCombiner(options);
        foreach (var alert in stored)
        {
            _combiner.Apply(alert);
        }
    }

    private void CloseMinute(long minute, List<AgentAlert> output)
    {
        _findings.Clear();
        foreach (var slot in _agents.Values)
        {
            if (minute < slot.Detectors.FirstMinute)
            {
                continue; // gap-filled from the agent's first event on, not before it
            }
            var bucket = slot.TakeBucket(minute);
            slot.Detectors.Close(minute, bucket, _findings);
            slot.KeepClosed(minute, bucket, options.AllowedLatenessMinutes);
            PointsScored++;
            if (slot.Detectors.Owner is { } owner && options.OwnerDailyBudgetsUsd.ContainsKey(owner))
            {
                var ownerSlot = _owners.TryGetValue(owner, out var s) ? s : _owners[owner] = new OwnerSlot(options);
                ownerSlot.Add(bucket.Cost, slot.Detectors.AgentId);
            }
        }
        foreach (var (owner, ownerSlot) in _owners)
        {
            if (ownerSlot.Close(minute, owner, options) is { } finding)
            {
                _findings.Add(finding);
            }
        }
        _closedThrough = minute;
        _combiner.OnFindings(_findings, output);
        _combiner.OnMinuteClosed(minute, output);
    }

    private sealed class AgentSlot(AgentDetectors detectors)
    {
        private readonly Dictionary<long, Bucket> _open = [];

        public AgentDetectors Detectors { get; } = detectors;
        public Dictionary<long, Bucket> Closed { get; } = [];

        public Bucket BucketFor(long minute) => _open.TryGetValue(minute, out var b) ? b : _open[minute] = new Bucket();

        public Bucket TakeBucket(long minute) => _open.Remove(minute, out var b) ? b : new Bucket();

        public void KeepClosed(long minute, Bucket bucket, int lateness)
        {
            if (lateness == 0)
            {
                return;
            }
            Closed[minute] = bucket;
            Closed.Remove(minute - lateness);
        }
    }

    private sealed class OwnerSlot(DetectorOptions options)
    {
        private readonly BudgetBurn _burn = new(options);
        private double _minuteCost;
        private (string Agent, double Cost) _topSpender;

        public void Add(double cost, string agent)
        {
            _minuteCost += cost;
            if (cost >= _topSpender.Cost)
            {
                _topSpender = (agent, cost);
            }
        }

        public Finding? Close(long minute, string owner, DetectorOptions o)
        {
            var cost = _minuteCost;
            var agent = _topSpender.Agent ?? "";
            _minuteCost = 0;
            _topSpender = default;
            return _burn.Close(minute, cost, o.OwnerDailyBudgetsUsd[owner], $"owner {owner}") is { } hit
                ? new Finding(agent, owner, IncidentGroup.OwnerBudget, "cost", hit.Severity, minute, hit.Headline, hit.Evidence)
                : null;
        }
    }
}
