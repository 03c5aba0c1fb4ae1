using AuditPipeline.Contracts;

namespace AuditPipeline.Detectors;

/// <summary>
/// Budget burn for one budget holder (an agent or an owner): spend so far in the UTC day plus
/// the current rate (exponentially weighted, half-life CostRateHalfLifeMinutes) projected to the
/// end of the day. Pages when the budget would run out before the day ends and the rate is
/// CostRateMultiple times the holder's seasonal spend (a normal busy hour does not page), or
/// when the budget is already spent. Severity by how soon it runs out.
/// </summary>
internal sealed class BudgetBurn(DetectorOptions options)
{
    private readonly double _alpha = 1 - Math.Exp(-Math.Log(2) / options.CostRateHalfLifeMinutes);
    private readonly SeasonalBaseline _seasonal = new();
    private readonly EvidenceRing _observed = new(options.EvidenceWindowMinutes);
    private readonly EvidenceRing _expected = new(options.EvidenceWindowMinutes);
    private long _day = -1;
    private double _spent;
    private double _rate;

    /// <summary>Returns (severity, headline, evidence) when the budget is burning too fast.</summary>
    public (AlertSeverity Severity, string Headline, AlertEvidence Evidence)? Close(long minute, double cost, double? budget, string holder)
    {
        var day = minute / Minutes.PerDay;
        if (day != _day)
        {
            _day = day;
            _spent = 0;
        }
        _spent += cost;
        _rate += _alpha * (cost - _rate);
        var expected = _seasonal.Expected(minute);
        var warm = _seasonal.Minutes >= options.ColdStartMinutes;
        _seasonal.Learn(minute, warm ? Math.Min(cost, Math.Max(expected, 1e-9) * options.CostRateMultiple) : cost);
        _observed.Add(Math.Round(cost, 6));
        _expected.Add(Math.Round(expected, 6));
        if (budget is not { } limit || !warm)
        {
            return null;
        }

        var remaining = limit - _spent;
        var minutesLeft = Minutes.PerDay - Minutes.MinuteOfDay(minute) - 1;
        var fast = _rate >= options.CostRateMultiple * Math.Max(expected, 1e-9);
        double minutesToExhaustion;
        if (remaining <= 0)
        {
            minutesToExhaustion = 0;
        }
        else if (fast && _rate > 0 && remaining / _rate < Math.Min(minutesLeft, options.CostHorizonMinutes))
        {
            minutesToExhaustion = remaining / _rate;
        }
        else
        {
            return null;
        }
        var severity = minutesToExhaustion < 60 ? AlertSeverity.Critical : minutesToExhaustion < 240 ? AlertSeverity.High : AlertSeverity.Medium;
        var headline = remaining <= 0
            ? $"{holder} has spent ${_spent:0.00} of a ${limit:0.00} daily budget"
            : $"{holder} spends ${_rate * 60:0.00}/h and would exhaust its ${limit:0.00} daily budget in {minutesToExhaustion:0} minutes";
        var evidence = new AlertEvidence
        {
            Detector = "cost.burn",
            Explanation = $"{headline}; spent today ${_spent:0.00}, usual rate ${expected * 60:0.00}/h at this time, gate {options.CostRateMultiple}× usual.",
            Parameters = new Dictionary<string, double>
            {
                ["budget_usd"] = limit,
                ["spent_today_usd"] = Math.Round(_spent, 6),
                ["rate_usd_per_minute"] = Math.Round(_rate, 6),
                ["minutes_to_exhaustion"] = Math.Round(minutesToExhaustion, 1),
                ["rate_multiple"] = options.CostRateMultiple,
                ["rate_half_life_minutes"] = options.CostRateHalfLifeMinutes,
                ["horizon_minutes"] = options.CostHorizonMinutes,
            },
            WindowStart = Minutes.Start(minute - _observed.ToList().Count + 1),
            Observed = _observed.ToList(),
            Baseline = _expected.ToList(),
            Score = Math.Round(Math.Clamp(1 - (minutesToExhaustion / Math.Max(1, minutesLeft)), 0.5, 1), 6),
        };
        return (severity, headline, evidence);
    }
}

/// <summary>The agent's own daily budget (AgentDailyBudgetsUsd, else DefaultAgentDailyBudgetUsd).</summary>
internal sealed class CostTracker(DetectorOptions options)
{
    private readonly BudgetBurn _burn = new(options);

    public void Close(long minute, double cost, AgentDetectors agent, List<Finding> findings)
    {
        var budget = options.AgentDailyBudgetsUsd.TryGetValue(agent.AgentId, out var b) ? b : options.DefaultAgentDailyBudgetUsd;
        if (_burn.Close(minute, cost, budget, agent.AgentId) is { } hit)
        {
            findings.Add(agent.Build(IncidentGroup.Behaviour, "cost", hit.Severity, minute, hit.Headline, hit.Evidence));
        }
    }
}
