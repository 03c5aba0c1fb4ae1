using AuditPipeline.Contracts;

namespace AuditPipeline.Detectors;

/// <summary>
/// The detectors for a whole fleet, driven by event time, one watermark per agent. An agent's
/// observations go into its one-minute buckets; a minute is scored once the agent's own latest
/// event is CloseDelaySeconds past the minute's end (an agent's events come from one Kafka
/// partition, in order, so skew between partitions or a backfill does not make other agents'
/// events late). Agents that go quiet are closed by <see cref="CloseIdle"/> (no observation has
/// arrived for a while: close up to the wall clock) or <see cref="AdvanceTo"/> (a true
/// watermark: everything before it has been delivered). Closed minutes are gap-filled, run
/// through the detectors and the combiner, and the alert changes are returned. Observations for
/// an agent's minute already scored but within AllowedLatenessMinutes are added and the minute
/// is re-scored; older ones are counted in <see cref="TooLate"/> and left out (they are still in
/// the store). Deterministic: the same observations in the same order give the same alerts,
/// which is what makes a rebuild from the store reproduce them.
/// </summary>
public sealed class DetectionEngine(DetectorOptions options)
{
    private const int OwnerGraceMinutes = 2;
    private readonly Dictionary<string, AgentSlot> _agents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OwnerSlot> _owners = new(StringComparer.Ordinal);
    private IncidentCombiner _combiner = new(options);
    private readonly List<Finding> _findings = [];

    public DetectorOptions Options => options;

    /// <summary>Observations older than the allowed lateness, not scored.</summary>
    public long TooLate { get; private set; }

    /// <summary>Agent-minutes scored so far (the throughput unit of bench/detection).</summary>
    public long PointsScored { get; private set; }

    public int Agents => _agents.Count;

    public int OpenIncidents => _combiner.OpenIncidents;

    /// <param name="arrivedAt">When the observation reached the detectors (processing time, for <see cref="CloseIdle"/>); defaults to its event time.</param>
    public void Observe(in ActionObservation o, List<AgentAlert> output, DateTimeOffset? arrivedAt = null)
    {
        var minute = Minutes.Of(o.At);
        if (!_agents.TryGetValue(o.AgentId, out var slot))
        {
            slot = new AgentSlot(new AgentDetectors(o.AgentId, minute, options)) { ClosedThrough = minute - 1 };
            _agents[o.AgentId] = slot;
        }
        slot.LastArrival = arrivedAt ?? o.At;
        var agent = slot.Detectors;
        agent.Owner = o.Owner;
        agent.Tier = o.Tier;
        agent.OwnerMissing = o.Owner is null || (options.KnownOwners.Count > 0 && !options.KnownOwners.Contains(o.Owner));

        if (minute > slot.ClosedThrough)
        {
            slot.BucketFor(minute).Add(o, options.EvidenceMaxEventIds);
            if (o.At > slot.Watermark)
            {
                slot.Watermark = o.At;
                CloseAgent(slot, LastClosable(slot.Watermark), output);
            }
        }
        else if (minute > slot.ClosedThrough - options.AllowedLatenessMinutes && slot.Closed.TryGetValue(minute, out var closed))
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

    /// <summary>A true watermark: every observation before it has been delivered. Closes every agent's minutes up to it.</summary>
    public void AdvanceTo(DateTimeOffset watermark, List<AgentAlert> output)
    {
        var last = LastClosable(watermark);
        foreach (var slot in _agents.Values)
        {
            CloseAgent(slot, last, output);
        }
        CloseOwners(last, output);
    }

    /// <summary>
    /// Closes, up to <paramref name="now"/>, the agents from which nothing has arrived since
    /// <paramref name="idleSince"/> (processing time): an agent that stops still has its quiet
    /// minutes scored and its incident recovered, while agents still sending are left to their
    /// own event time.
    /// </summary>
    public void CloseIdle(DateTimeOffset now, DateTimeOffset idleSince, List<AgentAlert> output)
    {
        var last = LastClosable(now);
        foreach (var slot in _agents.Values.Where(s => s.LastArrival < idleSince))
        {
            CloseAgent(slot, last, output);
        }
        CloseOwners(last - OwnerGraceMinutes, output);
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

    private long LastClosable(DateTimeOffset watermark) => Minutes.Of(watermark.AddSeconds(-options.CloseDelaySeconds)) - 1;

    private void CloseAgent(AgentSlot slot, long last, List<AgentAlert> output)
    {
        if (last <= slot.ClosedThrough)
        {
            return;
        }
        var detectors = slot.Detectors;
        for (var minute = slot.ClosedThrough + 1; minute <= last; minute++)
        {
            _findings.Clear();
            var bucket = slot.TakeBucket(minute);
            detectors.Close(minute, bucket, _findings);
            slot.KeepClosed(minute, bucket, options.AllowedLatenessMinutes);
            slot.ClosedThrough = minute;
            PointsScored++;
            if (detectors.Owner is { } owner && options.OwnerDailyBudgetsUsd.ContainsKey(owner))
            {
                var ownerSlot = _owners.TryGetValue(owner, out var s) ? s : _owners[owner] = new OwnerSlot(options, minute - 1);
                ownerSlot.Add(minute, bucket.Cost, detectors.AgentId);
            }
            _combiner.OnFindings(_findings, output);
            _combiner.RecoverQuiet(IncidentCombiner.AgentKeys(detectors.AgentId), minute, output);
        }
        if (_owners.Count > 0)
        {
            CloseOwners(last - OwnerGraceMinutes, output);
        }
    }

    /// <summary>Owners' budgets are judged a little behind their agents, so every agent's spend for the minute is in.</summary>
    private void CloseOwners(long last, List<AgentAlert> output)
    {
        foreach (var (owner, slot) in _owners)
        {
            while (slot.ClosedThrough < last)
            {
                var minute = ++slot.ClosedThrough;
                _findings.Clear();
                if (slot.Close(minute, owner, options) is { } finding)
                {
                    _findings.Add(finding);
                }
                _combiner.OnFindings(_findings, output);
                _combiner.RecoverQuiet([IncidentCombiner.OwnerBudgetKey(owner)], minute, output);
            }
        }
    }

    private sealed class AgentSlot(AgentDetectors detectors)
    {
        private readonly Dictionary<long, Bucket> _open = [];

        public AgentDetectors Detectors { get; } = detectors;
        public Dictionary<long, Bucket> Closed { get; } = [];
        public long ClosedThrough { get; set; }
        public DateTimeOffset Watermark { get; set; } = DateTimeOffset.MinValue;
        public DateTimeOffset LastArrival { get; set; }

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

    private sealed class OwnerSlot(DetectorOptions options, long closedThrough)
    {
        private readonly BudgetBurn _burn = new(options);
        private readonly Dictionary<long, (double Cost, string Agent, double AgentCost)> _pending = [];

        public long ClosedThrough { get; set; } = closedThrough;

        public void Add(long minute, double cost, string agent)
        {
            // Spend that arrives after the owner's minute was judged counts in the next one.
            minute = Math.Max(minute, ClosedThrough + 1);
            var p = _pending.GetValueOrDefault(minute);
            _pending[minute] = (p.Cost + cost, cost >= p.AgentCost ? agent : p.Agent, Math.Max(cost, p.AgentCost));
        }

        public Finding? Close(long minute, string owner, DetectorOptions o)
        {
            _pending.Remove(minute, out var p);
            return _burn.Close(minute, p.Cost, o.OwnerDailyBudgetsUsd[owner], $"owner {owner}") is { } hit
                ? new Finding(p.Agent ?? "", owner, IncidentGroup.OwnerBudget, "cost", hit.Severity, minute, hit.Headline, hit.Evidence)
                : null;
        }
    }
}
