using System.Globalization;
using AuditPipeline.Contracts;

namespace AuditPipeline.Emitter.Scenarios;

/// <summary>
/// Labelled traffic for the detectors (DETECTORS.md, "Evaluation"): a fleet with daily and
/// weekly shape (business-hours agents in several time zones, round-the-clock agents, quieter
/// weekends), noisy-but-normal agents (overdispersed counts and short harmless bursts), and
/// injected incidents of every <see cref="IncidentKind"/> with their onset and end. Deterministic
/// for a seed; generated minute by minute so a week of a fleet never sits in memory.
/// </summary>
public sealed class ScenarioGenerator
{
    private static readonly string[] Owners = ["alice@example.com", "bob@example.com", "carol@example.com", "dan@example.com", "erin@example.com", "frank@example.com"];
    private static readonly string[] Teams = ["payments", "support", "platform", "growth", "finance", "hr"];
    private static readonly (string Type, Sensitivity Sensitivity)[] ResourceTypes =
    [
        ("sql-table", Sensitivity.Internal), ("crm-record", Sensitivity.Pii), ("ledger", Sensitivity.Financial),
        ("s3-object", Sensitivity.Confidential), ("ticket", Sensitivity.Internal), ("k8s-deployment", Sensitivity.Production),
        ("wiki-page", Sensitivity.Public), ("vault-secret", Sensitivity.Secret),
    ];
    private static readonly Sensitivity[] FanOutClasses = [Sensitivity.Pii, Sensitivity.Financial, Sensitivity.Production, Sensitivity.Secret];

    private readonly ScenarioOptions _options;
    private readonly Random _random;
    private readonly List<ScenarioAgent> _agents = [];
    private readonly List<ScenarioIncident> _incidents = [];
    private readonly Dictionary<int, List<(ScenarioIncident Incident, double Magnitude, int Extra)>> _byAgent = [];
    private readonly double[] _zipfCdf;
    private readonly Dictionary<int, int> _burstLeft = [];

    public ScenarioGenerator(ScenarioOptions options)
    {
        _options = options;
        _random = new Random(options.Seed);
        _zipfCdf = Sampling.ZipfCdf(40, 1.1);
        for (var i = 0; i < options.Agents; i++)
        {
            _agents.Add(CreateAgent(i, owner: Owners[i % Owners.Length], activeFrom: options.Start, noisy: i % (int)Math.Round(1 / Math.Max(options.NoisyShare, 0.01)) == 3));
        }
        PlaceIncidents();
    }

    public IReadOnlyList<ScenarioAgent> Agents => _agents;
    public IReadOnlyList<ScenarioIncident> Incidents => _incidents;
    public DateTimeOffset End => _options.Start + (_options.Length ?? TimeSpan.FromDays(_options.Days));

    /// <summary>Daily budgets the scenario was designed with (about 3× each agent's usual weekday spend).</summary>
    public Dictionary<string, double> AgentBudgets() => _agents.ToDictionary(a => a.Identity.Id, a => a.DailyBudgetUsd);

    /// <summary>Every minute from start to end with its actions (in time order within the minute).</summary>
    public IEnumerable<(DateTimeOffset Minute, List<ScenarioAction> Actions)> Minutes()
    {
        for (var at = _options.Start; at < End; at = at.AddMinutes(1))
        {
            var actions = new List<ScenarioAction>();
            foreach (var agent in _agents)
            {
                if (at >= agent.ActiveFrom)
                {
                    Generate(agent, at, actions);
                }
            }
            actions.Sort((a, b) => a.At.CompareTo(b.At));
            yield return (at, actions);
        }
    }

    /// <summary>The full contract event for a generated action (what <c>auditctl simulate --scenario</c> publishes).</summary>
    public AgentActionOccurred ToEvent(ScenarioAction a)
    {
        var agent = _agents[a.Agent].Identity;
        var human = agent.Owner;
        return new AgentActionOccurred
        {
            EventId = Guid.CreateVersion7(a.At),
            OccurredAt = Timestamps.ToUtcMicroseconds(a.At),
            SchemaVersion = AgentActionOccurred.CurrentSchemaVersion,
            Agent = agent,
            Delegation = new Delegation
            {
                OnBehalfOf = human,
                Chain = human is null ? [new Actor { Type = ActorType.Service, Id = "scheduler" }] : [new Actor { Type = ActorType.Human, Id = human }],
            },
            Action = new ActionPerformed
            {
                Operation = a.Denied ? "write" : "read",
                Tool = $"{a.ResourceType}.api",
                Resource = new TargetResource { Type = a.ResourceType, Id = a.ResourceId, Sensitivity = a.Sensitivity },
            },
            Authorization = new AuthorizationDecision
            {
                Decision = a.Denied ? Decision.Deny : Decision.Allow,
                PolicyId = $"policy-{agent.Team}",
                PolicyVersion = "v3",
                Rule = a.Denied ? "deny-outside-scope" : $"allow-{a.ResourceType}",
                Reason = a.Denied ? "resource outside the agent's delegated scope" : "agent acts within its delegated scope",
            },
            Usage = new Usage { InputTokens = a.InputTokens, OutputTokens = a.OutputTokens, CostUsd = a.CostUsd, DurationMs = 200 },
            Outcome = a.Denied
                ? new Outcome { Status = OutcomeStatus.Failure, ErrorCode = "denied" }
                : new Outcome { Status = OutcomeStatus.Success },
        };
    }

    /// <summary>Expected actions per minute at a time, before incidents and noise.</summary>
    public static double Rate(ScenarioAgent agent, DateTimeOffset at)
    {
        var hour = (((at.Hour + agent.HourShift) % 24) + 24) % 24 + (at.Minute / 60.0);
        var shape = agent.BusinessHours
            ? 0.08 + (0.92 * Math.Max(0, Math.Sin(Math.PI * (hour - 7) / 12)))
            : 0.75 + (0.25 * Math.Sin(2 * Math.PI * hour / 24));
        var weekend = at.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday ? agent.WeekendFactor : 1;
        return agent.PeakRatePerMinute * shape * weekend;
    }

    private ScenarioAgent CreateAgent(int index, string? owner, DateTimeOffset activeFrom, bool noisy)
    {
        var team = Teams[index % Teams.Length];
        var poolSize = 12 + _random.Next(28);
        var pool = new List<(string, string, Sensitivity)>();
        for (var i = 0; i < poolSize; i++)
        {
            // Secrets are rare in normal work; the other classes are everyday for some teams.
            var (type, sensitivity) = ResourceTypes[_random.Next(ResourceTypes.Length - 1)];
            pool.Add((type, $"{type}/{team}/{index}-{i}", sensitivity));
        }
        var peak = Math.Exp(Math.Log(0.5) + (_random.NextDouble() * Math.Log(60))) * _options.RateScale; // 0.5 … 30 per minute
        var costPerAction = (0.5 + (_random.NextDouble() * 2.5)) * 0.013;
        var agent = new ScenarioAgent(
            index,
            new AgentIdentity
            {
                Id = $"{_options.IdPrefix}-{index:D4}",
                Name = $"{team}-agent-{index}",
                Version = "2.1.0",
                Model = index % 2 == 0 ? "gpt-4o" : "claude-sonnet",
                Owner = owner,
                Team = team,
                RiskTier = (RiskTier)(index % 4),
            },
            peak,
            HourShift: index % 3 == 0 ? 0 : index % 3 == 1 ? -5 : 8,
            BusinessHours: index % 5 != 0,
            WeekendFactor: 0.3 + (_random.NextDouble() * 0.6),
            Overdispersion: noisy ? 0.3 + (_random.NextDouble() * 0.4) : 0.02,
            noisy,
            pool,
            costPerAction,
            DenialRate: 0.005 + (_random.NextDouble() * 0.04),
            DailyBudgetUsd: 0,
            activeFrom);
        var weekdaySpend = Enumerable.Range(0, 1440).Sum(m => Rate(agent, _options.Start.AddMinutes(m))) * costPerAction;
        return agent with { DailyBudgetUsd = Math.Round(Math.Max(1, weekdaySpend * (2.5 + _random.NextDouble())), 2) };
    }

    private void PlaceIncidents()
    {
        var eligible = _agents.Where(a => !a.Noisy).ToList();
        foreach (var kind in _options.Kinds ?? Enum.GetValues<IncidentKind>())
        {
            for (var n = 0; n < _options.IncidentsPerKind; n++)
            {
                if (kind == IncidentKind.Ownerless)
                {
                    var onset = RandomTime(_options.IncidentEarliest, End - _options.Start < TimeSpan.FromDays(2) ? TimeSpan.FromMinutes(12) : TimeSpan.FromHours(2));
                    var agent = CreateAgent(_agents.Count, owner: null, activeFrom: onset, noisy: false);
                    _agents.Add(agent);
                    Add(new ScenarioIncident(kind, agent.Identity.Id, onset, onset.AddMinutes(10)), agent.Index, 0, 0);
                    continue;
                }
                for (var attempt = 0; attempt < 1000; attempt++)
                {
                    var agent = eligible[_random.Next(eligible.Count)];
                    if (kind == IncidentKind.OffHoursBurst && !agent.BusinessHours)
                    {
                        continue; // a round-the-clock agent has no off-hours
                    }
                    var (onset, minutes) = Timing(kind, agent);
                    var incident = new ScenarioIncident(kind, agent.Identity.Id, onset, onset.AddMinutes(minutes));
                    if (_byAgent.TryGetValue(agent.Index, out var existing)
                        && existing.Any(e => e.Incident.Onset < incident.End.AddHours(24) && incident.Onset < e.Incident.End.AddHours(24)))
                    {
                        continue;
                    }
                    var (magnitude, extra) = kind switch
                    {
                        IncidentKind.RunawayLoop => (20 + (_random.NextDouble() * 40), 0),
                        IncidentKind.SlowRamp => (8 + (_random.NextDouble() * 4), 0),
                        IncidentKind.OffHoursBurst => (1.5 + (_random.NextDouble() * 1.5), 0),
                        IncidentKind.SensitiveFanOut => (0, 5 + _random.Next(26)),
                        IncidentKind.BudgetBurn => (15 + (_random.NextDouble() * 25), 0),
                        IncidentKind.DenialProbing => (12 + (_random.NextDouble() * 28), 0),
                        _ => (0, 0),
                    };
                    Add(incident, agent.Index, magnitude, extra);
                    break;
                }
            }
        }
        _incidents.Sort((a, b) => a.Onset.CompareTo(b.Onset));
    }

    private void Add(ScenarioIncident incident, int agent, double magnitude, int extra)
    {
        _incidents.Add(incident);
        if (!_byAgent.TryGetValue(agent, out var list))
        {
            _byAgent[agent] = list = [];
        }
        list.Add((incident, magnitude, extra));
    }

    /// <summary>Onset and duration: off-hours bursts at the agent's local night, the rest in its working day.</summary>
    private (DateTimeOffset Onset, int Minutes) Timing(IncidentKind kind, ScenarioAgent agent)
    {
        var minutes = kind switch
        {
            IncidentKind.RunawayLoop => 10 + _random.Next(31),
            IncidentKind.SlowRamp => 80 + _random.Next(60),
            IncidentKind.OffHoursBurst => 15 + _random.Next(26),
            IncidentKind.SensitiveFanOut => 3 + _random.Next(8),
            IncidentKind.BudgetBurn => 90 + _random.Next(91),
            IncidentKind.DenialProbing => 10 + _random.Next(21),
            _ => 10,
        };
        if (End - _options.Start < TimeSpan.FromDays(2))
        {
            // A short run (the demo): anywhere after the warm-up, ending before the run does.
            return (RandomTime(_options.IncidentEarliest, TimeSpan.FromMinutes(minutes + 2)), minutes);
        }
        var day = RandomTime(_options.IncidentEarliest, TimeSpan.FromHours(6)).UtcDateTime.Date;
        var localHour = kind == IncidentKind.OffHoursBurst
            ? 1 + (_random.NextDouble() * 3)
            : agent.BusinessHours ? 9 + (_random.NextDouble() * 6) : _random.NextDouble() * 20;
        var utcHour = (((localHour - agent.HourShift) % 24) + 24) % 24;
        var onset = new DateTimeOffset(day, TimeSpan.Zero).AddMinutes(Math.Floor(utcHour * 60));
        if (onset < _options.Start + _options.IncidentEarliest)
        {
            onset = onset.AddDays(1);
        }
        if (onset.AddMinutes(minutes + 30) > End)
        {
            onset = onset.AddDays(-1);
        }
        return (onset, minutes);
    }

    private DateTimeOffset RandomTime(TimeSpan notBefore, TimeSpan notAfterEnd)
    {
        var span = End - notAfterEnd - (_options.Start + notBefore);
        span = span < TimeSpan.Zero ? TimeSpan.Zero : span;
        return _options.Start + notBefore + TimeSpan.FromMinutes(Math.Floor(_random.NextDouble() * span.TotalMinutes));
    }

    private void Generate(ScenarioAgent agent, DateTimeOffset at, List<ScenarioAction> output)
    {
        var rate = Rate(agent, at);
        var costFactor = 1.0;
        var denialRate = agent.DenialRate;
        var loop = false;
        var probing = 0.0;
        var fanOut = 0;
        (ScenarioIncident Incident, double Magnitude, int Extra) active = default;
        if (_byAgent.TryGetValue(agent.Index, out var incidents))
        {
            active = incidents.FirstOrDefault(i => at >= i.Incident.Onset && at < i.Incident.End);
        }
        if (active.Incident is { } incident)
        {
            var elapsed = (at - incident.Onset).TotalMinutes;
            var length = (incident.End - incident.Onset).TotalMinutes;
            switch (incident.Kind)
            {
                case IncidentKind.RunawayLoop:
                    rate = Math.Max(rate * active.Magnitude, 100); // a loop is as fast as its tool calls, whatever the agent's usual rate
                    loop = true;
                    break;
                case IncidentKind.SlowRamp:
                    rate = Math.Max(rate, 2) * (1 + ((active.Magnitude - 1) * Math.Min(1, elapsed / (length - 20))));
                    break;
                case IncidentKind.OffHoursBurst:
                    rate = Math.Max(agent.PeakRatePerMinute * active.Magnitude, 15);
                    break;
                case IncidentKind.BudgetBurn:
                    costFactor = active.Magnitude;
                    rate = Math.Max(rate, 1);
                    break;
                case IncidentKind.DenialProbing:
                    probing = active.Magnitude;
                    break;
                case IncidentKind.SensitiveFanOut:
                    fanOut = (int)Math.Ceiling(active.Extra / length);
                    break;
            }
        }
        else if (agent.Noisy && (_burstLeft.GetValueOrDefault(agent.Index) > 0 || _random.NextDouble() < 0.003))
        {
            // Harmless bursts (a batch job, a user in a hurry): part of normal for noisy agents.
            var left = _burstLeft.GetValueOrDefault(agent.Index);
            _burstLeft[agent.Index] = left > 0 ? left - 1 : 2 + _random.Next(5);
            rate *= 1.5 + _random.NextDouble();
        }

        var lambda = agent.Overdispersion > 0.05 ? rate * _random.Gamma(1 / agent.Overdispersion) * agent.Overdispersion : rate;
        var count = _random.Poisson(lambda);
        for (var i = 0; i < count; i++)
        {
            var (type, id, sensitivity) = loop ? agent.Pool[0] : agent.Pool[_random.Zipf(_zipfCdf, agent.Pool.Count)];
            output.Add(Action(agent, at, _random.NextDouble() < denialRate, type, id, sensitivity, costFactor));
        }
        var probes = probing > 0 ? _random.Poisson(probing) : 0;
        for (var i = 0; i < probes; i++)
        {
            var (type, id, sensitivity) = agent.Pool[_random.Next(agent.Pool.Count)];
            output.Add(Action(agent, at, _random.NextDouble() < 0.85, type, id, sensitivity, 1));
        }
        for (var i = 0; i < fanOut; i++)
        {
            var sensitivity = FanOutClasses[_random.Next(FanOutClasses.Length)];
            var type = ResourceTypes.First(r => r.Sensitivity == sensitivity).Type;
            var id = $"{type}/exfil/{agent.Index}-{_random.Next(1_000_000).ToString(CultureInfo.InvariantCulture)}";
            output.Add(Action(agent, at, false, type, id, sensitivity, 1));
        }
    }

    private ScenarioAction Action(ScenarioAgent agent, DateTimeOffset minute, bool denied, string type, string id, Sensitivity sensitivity, double costFactor)
    {
        var input = (int)(_random.Next(200, 4000) * costFactor);
        var output = (int)(_random.Next(50, 1500) * costFactor);
        var cost = Math.Round((decimal)(agent.CostPerActionUsd / 0.013) * ((input * 0.0000025m) + (output * 0.00001m)), 6);
        return new ScenarioAction(agent.Index, minute.AddTicks((long)(_random.NextDouble() * TimeSpan.TicksPerMinute)), denied, input, output, cost, type, id, sensitivity);
    }
}
