using AuditPipeline.Contracts;
using AuditPipeline.Detectors;
using Xunit;

namespace AuditPipeline.Detectors.Tests;

/// <summary>
/// Each detector through the engine on synthetic traffic with a known anomaly: it must alert
/// within the stated delay and stay quiet on the normal parts (both asserted).
/// </summary>
public sealed class EngineTests
{
    // A Tuesday: two weekdays of history before the anomalies, so the hour-of-day baseline is warm.
    private static readonly DateTimeOffset Start = new(2026, 11, 3, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Onset = Start.AddDays(2).AddHours(14);

    private sealed record Anomaly(int Denials = 0, double VolumeFactor = 1, int NewSensitive = 0, double CostFactor = 1);

    /// <summary>Feeds one agent's minutes; <paramref name="anomaly"/> applies from Onset for <paramref name="minutes"/> minutes.</summary>
    private static List<AgentAlert> Run(DetectionEngine engine, Anomaly anomaly, int minutes = 10, string? owner = "alice@example.com",
        DateTimeOffset? end = null, string agent = "agent-1", int seed = 1)
    {
        var random = new Random(seed);
        var alerts = new List<AgentAlert>();
        var stop = end ?? Onset.AddHours(2);
        for (var at = Start; at < stop; at = at.AddMinutes(1))
        {
            var active = at >= Onset && at < Onset.AddMinutes(minutes);
            var hour = at.Hour + (at.Minute / 60.0);
            var rate = 2 + (8 * Math.Max(0, Math.Sin(Math.PI * (hour - 6) / 12)));
            var count = Poisson(random, rate * (active ? anomaly.VolumeFactor : 1));
            for (var i = 0; i < count; i++)
            {
                var resource = $"table:{random.Next(12)}";
                engine.Observe(Observation(agent, owner, at.AddSeconds(random.Next(60)), random.NextDouble() < 0.02, resource,
                    Sensitivity.Internal, 0.01 * (active ? anomaly.CostFactor : 1)), alerts);
            }
            for (var i = 0; active && i < anomaly.Denials; i++)
            {
                engine.Observe(Observation(agent, owner, at.AddSeconds(i % 60), true, "table:1", Sensitivity.Internal, 0.01), alerts);
            }
            if (active && at == Onset)
            {
                for (var i = 0; i < anomaly.NewSensitive; i++)
                {
                    engine.Observe(Observation(agent, owner, at.AddSeconds(i), false, $"crm:customer-{i}", Sensitivity.Pii, 0.01), alerts);
                }
            }
            engine.AdvanceTo(at.AddMinutes(1).AddSeconds(engine.Options.CloseDelaySeconds), alerts);
        }
        return alerts;
    }

    private static ActionObservation Observation(string agent, string? owner, DateTimeOffset at, bool denied, string resource, Sensitivity sensitivity, double cost) =>
        new(Guid.NewGuid(), agent, owner, RiskTier.Medium, at, denied, 1000, cost, resource, sensitivity);

    private static int Poisson(Random random, double lambda)
    {
        var limit = Math.Exp(-lambda);
        var k = 0;
        for (var p = random.NextDouble(); p > limit; p *= random.NextDouble())
        {
            k++;
        }
        return k;
    }

    private static void AssertOpenedOnceWithin(List<AgentAlert> alerts, string category, int maxDelayMinutes)
    {
        var opened = alerts.Where(a => a.Change == AlertChange.Opened).ToList();
        var before = opened.Where(a => a.At <= Onset).ToList();
        Assert.True(before.Count == 0, $"false alerts on normal traffic: {string.Join("; ", before.Select(a => $"{a.At:HH:mm} {a.Title}"))}");
        var alert = Assert.Single(opened);
        Assert.Contains(category, alert.Categories);
        var delay = (alert.At - Onset).TotalMinutes;
        Assert.InRange(delay, 0, maxDelayMinutes);
        Assert.NotEmpty(alert.Evidence);
        Assert.All(alert.Evidence, e => Assert.InRange(e.Score, 0, 1));
    }

    [Fact]
    public void Volume_spike_alerts_within_two_minutes_and_is_quiet_on_two_days_of_diurnal_traffic()
    {
        var alerts = Run(new DetectionEngine(new DetectorOptions()), new Anomaly(VolumeFactor: 15), minutes: 20);
        AssertOpenedOnceWithin(alerts, "volume", 2);
        var evidence = alerts.First(a => a.Change == AlertChange.Opened).Evidence.First(e => e.Detector == "volume.spike");
        Assert.Equal(evidence.Observed.Count, evidence.Baseline.Count);
        Assert.True(evidence.Observed[^1] > 5 * evidence.Baseline[^1], "the evidence shows observed far above the baseline");
        Assert.NotEmpty(evidence.EventIds);
    }

    [Fact]
    public void One_runaway_agent_gives_one_incident_that_lasts_while_the_loop_runs_and_recovers_after_the_quiet_period()
    {
        // An hour-long loop: the incident lasts as long as the loop (the baseline does not learn it as normal).
        var alerts = Run(new DetectionEngine(new DetectorOptions()), new Anomaly(VolumeFactor: 40), minutes: 60);
        Assert.Single(alerts, a => a.Change == AlertChange.Opened);
        Assert.True(alerts.Count(a => a.Change == AlertChange.Escalated) <= 3, "escalations only when severity or detectors change");
        var recovered = Assert.Single(alerts, a => a.Change == AlertChange.Recovered);
        Assert.Equal(alerts.First().IncidentId, recovered.IncidentId);
        Assert.InRange((recovered.At - Onset).TotalMinutes, 60 + 15, 60 + 15 + 2);
        Assert.Single(alerts.Select(a => a.IncidentId).Distinct());
    }

    [Fact]
    public void Denial_spike_alerts_within_two_minutes()
    {
        var alerts = Run(new DetectionEngine(new DetectorOptions()), new Anomaly(Denials: 25), minutes: 10);
        AssertOpenedOnceWithin(alerts, "denials", 2);
    }

    [Fact]
    public void New_sensitive_resource_fan_out_alerts_in_the_minute_it_happens()
    {
        var alerts = Run(new DetectionEngine(new DetectorOptions()), new Anomaly(NewSensitive: 6), minutes: 1);
        AssertOpenedOnceWithin(alerts, "resources", 1);
        var opened = alerts.Single(a => a.Change == AlertChange.Opened);
        Assert.Equal(AlertSeverity.High, opened.Severity);
        Assert.Contains(opened.Evidence.SelectMany(e => e.Resources), r => r.StartsWith("crm:customer-", StringComparison.Ordinal));
    }

    [Fact]
    public void Budget_burn_alerts_before_the_budget_is_gone()
    {
        // Usual spend is about 8,000 actions × $0.01 a day: a $250 budget is about three days' worth.
        var options = new DetectorOptions { AgentDailyBudgetsUsd = { ["agent-1"] = 250 } };
        var alerts = Run(new DetectionEngine(options), new Anomaly(CostFactor: 40), minutes: 120);
        AssertOpenedOnceWithin(alerts, "cost", 5);
        var evidence = alerts.First(a => a.Change == AlertChange.Opened).Evidence.Single(e => e.Detector == "cost.burn");
        Assert.True(evidence.Parameters["spent_today_usd"] < 250, "alerted before the budget ran out");
    }

    [Fact]
    public void Ownerless_agent_alerts_once_and_owned_agents_do_not()
    {
        var engine = new DetectionEngine(new DetectorOptions());
        var alerts = Run(engine, new Anomaly(), owner: null, end: Start.AddHours(3));
        var opened = Assert.Single(alerts, a => a.Change == AlertChange.Opened);
        Assert.Equal(["ownership"], opened.Categories);
        Assert.InRange((opened.At - Start).TotalMinutes, 1, 2);
        Assert.Empty(Run(new DetectionEngine(new DetectorOptions()), new Anomaly(), end: Start.AddHours(3)));
    }

    [Fact]
    public void Stored_incidents_are_continued_after_a_restart_not_opened_again()
    {
        var first = new DetectionEngine(new DetectorOptions());
        var before = Run(first, new Anomaly(VolumeFactor: 40), minutes: 30, end: Onset.AddMinutes(10));
        var opened = Assert.Single(before, a => a.Change == AlertChange.Opened);

        // A new process relearns from the same history and takes the incident from the store.
        var second = new DetectionEngine(new DetectorOptions());
        Run(second, new Anomaly(VolumeFactor: 40), minutes: 30, end: Onset.AddMinutes(10));
        second.ResetIncidents(before);
        var after = new List<AgentAlert>();
        var random = new Random(5);
        for (var at = Onset.AddMinutes(10); at < Onset.AddMinutes(60); at = at.AddMinutes(1))
        {
            var count = at < Onset.AddMinutes(30) ? 300 : 8;
            for (var i = 0; i < count; i++)
            {
                second.Observe(Observation("agent-1", "alice@example.com", at.AddSeconds(random.Next(60)), false, "table:1", Sensitivity.Internal, 0.01), after);
            }
            second.AdvanceTo(at.AddMinutes(1).AddSeconds(10), after);
        }
        Assert.DoesNotContain(after, a => a.Change == AlertChange.Opened);
        var recovered = Assert.Single(after, a => a.Change == AlertChange.Recovered);
        Assert.Equal(opened.IncidentId, recovered.IncidentId);
    }

    [Fact]
    public void An_incident_the_idle_clock_recovered_is_not_opened_again_when_a_restart_replays_the_rest_of_its_minutes()
    {
        // Found by the fault soak. Process A sees the first minutes of a 12-minute runaway, then the
        // agent's events stall upstream (ingest down): the idle clock closes its minutes up to the
        // wall clock and the incident recovers; the rest arrives too late for A and is only stored.
        var first = new DetectionEngine(new DetectorOptions());
        var stored = Run(first, new Anomaly(VolumeFactor: 40), minutes: 12, end: Onset.AddMinutes(5));
        first.CloseIdle(Onset.AddMinutes(40), idleSince: Onset.AddMinutes(10), stored);
        var opened = Assert.Single(stored, a => a.Change == AlertChange.Opened);
        Assert.Single(stored, a => a.Change == AlertChange.Recovered);

        // A is killed before its checkpoint passes those late events. Process B relearns the same
        // history, takes the incidents from the store and is handed the rest of the runaway.
        var second = new DetectionEngine(new DetectorOptions());
        Run(second, new Anomaly(VolumeFactor: 40), minutes: 12, end: Onset.AddMinutes(5));
        second.ResetIncidents(stored);
        var after = new List<AgentAlert>();
        var random = new Random(5);
        for (var at = Onset.AddMinutes(5); at < Onset.AddMinutes(40); at = at.AddMinutes(1))
        {
            var count = at < Onset.AddMinutes(12) ? 300 : 8;
            for (var i = 0; i < count; i++)
            {
                second.Observe(Observation("agent-1", "alice@example.com", at.AddSeconds(random.Next(60)), false, "table:1", Sensitivity.Internal, 0.01), after);
            }
            second.AdvanceTo(at.AddMinutes(1).AddSeconds(10), after);
        }
        Assert.True(!after.Any(a => a.Change == AlertChange.Opened),
            $"incident {opened.IncidentId} was opened again: {string.Join("; ", after.Select(a => $"{a.Change} {a.IncidentId} {a.StartedAt:HH:mm}"))}");
    }

    [Fact]
    public void Late_events_rescore_their_minute_and_too_late_ones_are_counted()
    {
        var engine = new DetectionEngine(new DetectorOptions());
        var alerts = Run(engine, new Anomaly(), end: Onset);
        Assert.DoesNotContain(alerts, a => a.Change == AlertChange.Opened);
        // 400 actions for the minute that just closed arrive late: within the lateness, re-scored.
        var lateMinute = Onset.AddMinutes(-1);
        for (var i = 0; i < 400; i++)
        {
            engine.Observe(Observation("agent-1", "alice@example.com", lateMinute.AddSeconds(i % 60), false, "table:1", Sensitivity.Internal, 0.01), alerts);
        }
        var opened = Assert.Single(alerts, a => a.Change == AlertChange.Opened);
        Assert.Contains("re-scored", opened.Summary, StringComparison.Ordinal);
        engine.Observe(Observation("agent-1", "alice@example.com", Onset.AddHours(-1), false, "table:1", Sensitivity.Internal, 0.01), alerts);
        Assert.Equal(1, engine.TooLate);
    }

    [Fact]
    public void Each_agent_keeps_its_own_event_time_so_a_lagging_partition_is_not_late()
    {
        // Agent 2's events reach the engine 20 minutes of event time behind agent 1's (another
        // partition, a backfill): both are scored in full and agent 2's runaway is found.
        var engine = new DetectionEngine(new DetectorOptions());
        var alerts = new List<AgentAlert>();
        var random = new Random(9);
        for (var at = Start; at < Start.AddHours(3); at = at.AddMinutes(1))
        {
            var lagging = at.AddMinutes(-20);
            for (var i = 0; i < 10; i++)
            {
                engine.Observe(Observation("agent-1", "alice@example.com", at.AddSeconds(random.Next(60)), false, "table:1", Sensitivity.Internal, 0.01), alerts);
            }
            var runaway = lagging >= Start.AddHours(2) && lagging < Start.AddHours(2).AddMinutes(10);
            for (var i = 0; lagging >= Start && i < (runaway ? 400 : 10); i++)
            {
                engine.Observe(Observation("agent-2", "alice@example.com", lagging.AddSeconds(i % 60), false, "table:1", Sensitivity.Internal, 0.01), alerts);
            }
        }
        Assert.Equal(0, engine.TooLate);
        var opened = Assert.Single(alerts, a => a.Change == AlertChange.Opened);
        Assert.Equal("agent-2", opened.AgentId);
        Assert.InRange((opened.At - Start.AddHours(2)).TotalMinutes, 0, 2);
    }

    [Fact]
    public void An_agent_that_stops_is_closed_by_the_idle_clock_and_its_incident_recovers()
    {
        var engine = new DetectionEngine(new DetectorOptions());
        var alerts = Run(engine, new Anomaly(VolumeFactor: 40), minutes: 30, end: Onset.AddMinutes(5));
        Assert.Single(alerts, a => a.Change == AlertChange.Opened);
        // The agent goes silent; nothing arrives from it while the wall clock moves on.
        engine.CloseIdle(Onset.AddMinutes(30), idleSince: Onset.AddMinutes(10), alerts);
        var recovered = Assert.Single(alerts, a => a.Change == AlertChange.Recovered);
        Assert.InRange((recovered.At - Onset).TotalMinutes, 5 + 15, 5 + 17);
    }

    [Fact]
    public void Ids_are_deterministic_so_a_replay_produces_the_same_alerts()
    {
        var a = Run(new DetectionEngine(new DetectorOptions()), new Anomaly(VolumeFactor: 40), minutes: 30);
        var b = Run(new DetectionEngine(new DetectorOptions()), new Anomaly(VolumeFactor: 40), minutes: 30);
        Assert.Equal(a.Select(x => x.EventId), b.Select(x => x.EventId));
        Assert.Equal(a.Select(x => x.IncidentId), b.Select(x => x.IncidentId));
    }

    [Fact]
    public void Alert_events_round_trip_through_the_canonical_json()
    {
        var alert = Run(new DetectionEngine(new DetectorOptions()), new Anomaly(VolumeFactor: 40), minutes: 5).First();
        var bytes = ContractJson.SerializeCanonical(alert);
        var back = ContractJson.DeserializeAlert(bytes);
        Assert.Equal(bytes, ContractJson.SerializeCanonical(back));
        Assert.Equal(alert.IncidentId, back.IncidentId);
    }
}
