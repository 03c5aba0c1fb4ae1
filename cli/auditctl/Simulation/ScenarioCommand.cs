using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using AuditPipeline.Emitter;
using AuditPipeline.Emitter.Scenarios;

namespace AuditPipeline.Cli.Simulation;

/// <summary>
/// <c>auditctl simulate --scenario incidents</c>: the labelled scenario generator, replayed into
/// Kafka up to now: a history of normal traffic ending at the current minute with incidents
/// injected into its last part. The detectors keep one event-time watermark per agent, so the
/// replay need not be slow.
/// </summary>
internal static class ScenarioCommand
{
    public static async Task<int> RunAsync(string scenario, int agents, int historyMinutes, int perKind, string kinds, string idPrefix, int seed, double pace, CancellationToken ct)
    {
        if (idPrefix.Length is 0 or > 40 || !idPrefix.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            Console.Error.WriteLine("--id-prefix must be 1–40 of letters, digits, '-', '_'");
            return 2;
        }
        if (scenario != "incidents")
        {
            Console.Error.WriteLine($"unknown scenario '{scenario}'; known: incidents");
            return 2;
        }
        var chosen = kinds.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(k => Enum.TryParse<IncidentKind>(k.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var kind)
                ? kind
                : throw new ArgumentException($"unknown incident kind '{k}'; known: {string.Join(", ", Enum.GetNames<IncidentKind>())}"))
            .ToList();
        var now = DateTimeOffset.UtcNow;
        var end = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        var generator = new ScenarioGenerator(new ScenarioOptions
        {
            Agents = agents,
            Start = end.AddMinutes(-historyMinutes),
            Length = TimeSpan.FromMinutes(historyMinutes),
            IncidentsPerKind = perKind,
            Kinds = chosen.Count > 0 ? chosen : null,
            IncidentEarliest = TimeSpan.FromMinutes(historyMinutes * 2 / 3),
            Seed = seed,
            IdPrefix = idPrefix,
            RateScale = 0.5,
        });
        foreach (var incident in generator.Incidents)
        {
            Console.WriteLine($"injecting {incident.Kind} on {incident.AgentId} from {incident.Onset:HH:mm} to {incident.End:HH:mm} UTC");
        }
        using var emitter = CliKafka.Emitter("scenario");
        long sent = 0, failed = 0;
        var clock = Stopwatch.StartNew();
        await CliProgress.RunAsync("simulate", "minutes", knownTotal: true, async progress =>
        {
            progress.Total = historyMinutes;
            long minutes = 0;
            foreach (var (_, actions) in generator.Minutes())
            {
                foreach (var action in actions)
                {
                    emitter.Enqueue(generator.ToEvent(action), r =>
                    {
                        if (r.Error.IsError)
                        {
                            Interlocked.Increment(ref failed);
                        }
                    });
                    sent++;
                }
                progress.Detail = string.Create(CultureInfo.InvariantCulture, $"{sent} events sent");
                progress.Report(++minutes);
                await Task.Delay(TimeSpan.FromSeconds(pace), ct);
            }
            return minutes;
        });
        emitter.Flush(TimeSpan.FromSeconds(30));
        Console.WriteLine($"simulate --scenario {scenario}: {generator.Agents.Count} agents, {historyMinutes} minutes of history up to {end:HH:mm} UTC, {sent} events sent, {Interlocked.Read(ref failed)} failed in {clock.Elapsed.TotalSeconds:0.0}s");
        return failed == 0 ? 0 : 1;
    }
}
