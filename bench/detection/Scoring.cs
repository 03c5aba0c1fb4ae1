using System.Globalization;
using AuditPipeline.Contracts;
using AuditPipeline.Emitter.Scenarios;

namespace AuditPipeline.Bench.Detection;

/// <summary>
/// Alerts against labels. An opened alert matches an incident of the same agent when it opens
/// between the onset and an hour after the end (the set-drift detector judges whole hours), or,
/// for a cost alert, any time later that UTC day (an injected burn that spent the budget makes
/// the rest of the day's spend a real budget alert).
/// Recall: incidents with a matching alert. Precision: opened alerts that match an incident.
/// Delay: first matching alert's time (bucket end) minus the onset.
/// </summary>
internal sealed record Scoring(
    double Precision, double Recall, double MedianDelayMinutes, double FalseAlertsPerAgentWeek,
    IReadOnlyList<string> PerKind, IReadOnlyList<string> FalseAlertSamples)
{
    private static readonly TimeSpan Tail = TimeSpan.FromMinutes(60);

    public static Scoring Score(IReadOnlyList<ScenarioIncident> incidents, List<AgentAlert> opened, ScenarioOptions options, int agents)
    {
        static bool Matches(ScenarioIncident i, AgentAlert a) =>
            a.AgentId == i.AgentId && a.At >= i.Onset
            && (a.At <= i.End + Tail || (a.Categories.SequenceEqual(["cost"]) && a.At.UtcDateTime.Date == i.Onset.UtcDateTime.Date));
        var delays = new List<double>();
        var perKind = new List<string>();
        var detected = 0;
        var missed = new List<string>();
        foreach (var group in incidents.GroupBy(i => i.Kind))
        {
            var kindDelays = new List<double>();
            foreach (var incident in group)
            {
                var first = opened.Where(a => Matches(incident, a)).OrderBy(a => a.At).FirstOrDefault();
                if (first is null)
                {
                    missed.Add(string.Create(CultureInfo.InvariantCulture, $"  missed: {incident.Kind} {incident.AgentId} {incident.Onset:yyyy-MM-dd HH:mm}–{incident.End:HH:mm}"));
                }
                else
                {
                    kindDelays.Add((first.At - incident.Onset).TotalMinutes);
                }
            }
            detected += kindDelays.Count;
            delays.AddRange(kindDelays);
            perKind.Add(string.Create(CultureInfo.InvariantCulture,
                $"  {group.Key,-16} detected {kindDelays.Count}/{group.Count()}  median delay {Median(kindDelays):0.0} min  max {(kindDelays.Count > 0 ? kindDelays.Max() : double.NaN):0.0} min"));
        }
        var falseAlerts = opened.Where(a => !incidents.Any(i => Matches(i, a))).ToList();
        var byDetector = falseAlerts.GroupBy(a => $"day {(a.At - options.Start).Days + 1} {string.Join('+', a.Categories)}")
            .OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"  false alerts {g.Key}: {g.Count()}");
        var samples = missed.Concat(byDetector).Concat(falseAlerts.GroupBy(a => string.Join('+', a.Categories)).SelectMany(g => g.Take(3)).Select(a => string.Create(CultureInfo.InvariantCulture,
            $"  false alert: {a.At:yyyy-MM-dd HH:mm} {a.Title} [{string.Join(',', a.Categories)}]"))).ToList();
        var agentWeeks = agents * options.Days / 7.0;
        return new Scoring(
            opened.Count == 0 ? 0 : (double)(opened.Count - falseAlerts.Count) / opened.Count,
            incidents.Count == 0 ? 0 : (double)detected / incidents.Count,
            Median(delays),
            falseAlerts.Count / agentWeeks,
            perKind,
            samples);
    }

    private static double Median(List<double> values)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
