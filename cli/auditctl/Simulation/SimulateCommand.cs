using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using AuditPipeline.Emitter;
using static AuditPipeline.Cli.Simulation.EmitCommand;

namespace AuditPipeline.Cli.Simulation;

/// <summary>
/// <c>auditctl simulate</c>: simulated agents with a daily traffic shape for a while, or a
/// labelled scenario (<c>--scenario incidents</c>). Exit 0 all acknowledged, 1 some failed, 2 could not run.
/// </summary>
internal static class SimulateCommand
{
    public static Command Create()
    {
        var agents = new Option<int>("--agents") { Description = "Simulated agents", DefaultValueFactory = _ => 20 };
        var rate = new Option<double>("--rate") { Description = "Fleet-wide events per second at peak hours", DefaultValueFactory = _ => 200 };
        var duration = new Option<int>("--duration") { Description = "Seconds to run", DefaultValueFactory = _ => 30 };
        var seed = new Option<int>("--seed") { Description = "Random seed", DefaultValueFactory = _ => 7 };
        var scenario = new Option<string?>("--scenario") { Description = "Instead, replay a labelled scenario up to now: 'incidents' (normal traffic with injected incidents)" };
        var history = new Option<int>("--history-minutes") { Description = "Scenario: minutes of history ending now", DefaultValueFactory = _ => 90 };
        var perKind = new Option<int>("--per-kind") { Description = "Scenario: incidents of each kind", DefaultValueFactory = _ => 1 };
        var kinds = new Option<string>("--kinds") { Description = "Scenario: comma-separated kinds (RunawayLoop, SlowRamp, OffHoursBurst, SensitiveFanOut, BudgetBurn, DenialProbing, Ownerless); default all", DefaultValueFactory = _ => "" };
        var idPrefix = new Option<string>("--id-prefix") { Description = "Scenario: agent id prefix (a new prefix makes new agents)", DefaultValueFactory = _ => "scn" };
        var pace = new Option<double>("--pace") { Description = "Scenario: seconds of wall time per simulated minute (spreads the replay out)", DefaultValueFactory = _ => 0.02 };
        var command = new Command("simulate",
            "Run simulated agents with different owners and a daily traffic shape; prints how many events were acknowledged")
        {
            agents, rate, duration, seed, scenario, history, perKind, kinds, idPrefix, pace,
        };
        command.SetAction((parse, ct) => CliRun.Guarded("simulate", async () =>
        {
            if (parse.GetValue(scenario) is { } name)
            {
                return await ScenarioCommand.RunAsync(name, Positive(parse.GetValue(agents), "--agents"), Positive(parse.GetValue(history), "--history-minutes"),
                    Positive(parse.GetValue(perKind), "--per-kind"), parse.GetValue(kinds)!, parse.GetValue(idPrefix)!, parse.GetValue(seed), Math.Max(0, parse.GetValue(pace)), ct);
            }
            var fleet = new SampleFleet(Positive(parse.GetValue(agents), "--agents"), parse.GetValue(seed), idPrefix: "sim-agent");
            var peakRate = parse.GetValue(rate) > 0 ? parse.GetValue(rate) : throw new ArgumentException("--rate must be positive");
            var seconds = Positive(parse.GetValue(duration), "--duration");
            using var emitter = CliKafka.Emitter("simulate");
            long acknowledged = 0, failed = 0, sent = 0;
            var clock = Stopwatch.StartNew();
            await CliProgress.RunAsync("simulate", "s", knownTotal: true, async progress =>
            {
                progress.Total = seconds;
                using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
                var carry = new double[fleet.Agents.Count];
                while (clock.Elapsed.TotalSeconds < seconds && await tick.WaitForNextTickAsync(ct))
                {
                    var now = DateTimeOffset.UtcNow;
                    for (var i = 0; i < fleet.Agents.Count; i++)
                    {
                        // Each agent's share of the peak rate, shaped by its hour of day, with jitter.
                        carry[i] += peakRate / fleet.Agents.Count * 0.1 * SampleFleet.DiurnalWeight(now, i) * (0.5 + fleet.NextUniform());
                        for (; carry[i] >= 1; carry[i]--)
                        {
                            emitter.Enqueue(fleet.Next(fleet.Agents[i], now), r =>
                            {
                                if (r.Error.IsError) { Interlocked.Increment(ref failed); } else { Interlocked.Increment(ref acknowledged); }
                            });
                            sent++;
                        }
                    }
                    progress.Detail = string.Create(CultureInfo.InvariantCulture, $"{sent} events sent, {Interlocked.Read(ref acknowledged)} acknowledged");
                    progress.Report((long)clock.Elapsed.TotalSeconds);
                }
                return 0;
            });
            emitter.Flush(TimeSpan.FromSeconds(30));
            Console.WriteLine($"simulate: {fleet.Agents.Count} agents, {sent} events sent, {Interlocked.Read(ref acknowledged)} acknowledged, {Interlocked.Read(ref failed)} failed in {clock.Elapsed.TotalSeconds:0.0}s");
            return failed == 0 ? 0 : 1;
        }));
        return command;
    }
}
