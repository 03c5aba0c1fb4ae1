using System.CommandLine;
using System.Globalization;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Detectors;

namespace AuditPipeline.Cli.Commands;

/// <summary><c>auditctl alerts list|show|ack|resolve</c>: incidents from the alert events in the store.</summary>
internal static class AlertCommands
{
    public static Command Create()
    {
        var command = new Command("alerts", "List, explain, acknowledge and resolve alert incidents (recorded as events)");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Show());
        command.Subcommands.Add(Change("ack", AlertChange.Acknowledged, "Acknowledge an incident: someone is on it"));
        command.Subcommands.Add(Change("resolve", AlertChange.Resolved, "Resolve an incident (the subject stays quiet for Detectors:ResolveSuppressionMinutes)"));
        return command;
    }

    private static Option<int> SinceHours() => new("--since-hours") { Description = "Look back this many hours", DefaultValueFactory = _ => 24 * 7 };

    private static Command List()
    {
        var all = new Option<bool>("--all") { Description = "Include recovered and resolved incidents" };
        var since = SinceHours();
        var command = new Command("list", "Incidents, newest first: open ones unless --all") { all, since };
        command.SetAction((parse, ct) => CliRun.Guarded($"alerts {command.Name}", async () =>
        {
            var incidents = await Log().IncidentsAsync(DateTimeOffset.UtcNow.AddHours(-parse.GetValue(since)), ct);
            var shown = incidents.Where(i => parse.GetValue(all) || i.Open).ToList();
            Console.WriteLine($"{shown.Count} {(parse.GetValue(all) ? "" : "open ")}incidents");
            foreach (var i in shown)
            {
                var state = i.Open ? i.AcknowledgedBy is { } by ? $"acknowledged by {by}" : "open" : WireNames.Of(i.Latest.Change);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{i.Opened.IncidentId}  {WireNames.Of(i.Severity),-8} {state,-12} since {i.Opened.StartedAt:yyyy-MM-dd HH:mm}  [{string.Join(',', i.Latest.Categories)}]  {i.Latest.Title}"));
            }
            return 0;
        }));
        return command;
    }

    private static Command Show()
    {
        var id = new Argument<Guid>("incident-id") { Description = "The incident id (from alerts list)" };
        var since = SinceHours();
        var command = new Command("show", "An incident's history and the evidence behind each change") { id, since };
        command.SetAction((parse, ct) => CliRun.Guarded($"alerts {command.Name}", async () =>
        {
            var incident = await FindAsync(parse.GetValue(id), parse.GetValue(since), ct);
            if (incident is null)
            {
                return 1;
            }
            Console.WriteLine($"incident {incident.Opened.IncidentId}: {incident.Opened.Title}");
            Console.WriteLine($"agent {incident.Opened.AgentId}, owner {incident.Opened.Owner ?? "(none)"}, severity {WireNames.Of(incident.Severity)}, {(incident.Open ? "open" : "closed")}");
            foreach (var change in incident.Changes)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"- {change.At:yyyy-MM-dd HH:mm:ss} {WireNames.Of(change.Change)} ({WireNames.Of(change.Severity)}){(change.Actor is null ? "" : $" by {change.Actor}")}: {change.Summary}"));
                foreach (var e in change.Evidence)
                {
                    Console.WriteLine($"    {e.Detector}: {e.Explanation}");
                    if (e.Observed.Count > 0)
                    {
                        Console.WriteLine($"      observed from {e.WindowStart:HH:mm}: {string.Join(' ', e.Observed.Select(v => v.ToString("0.##", CultureInfo.InvariantCulture)))}");
                    }
                    if (e.Baseline.Count > 0)
                    {
                        Console.WriteLine($"      baseline:        {string.Join(' ', e.Baseline.Select(v => v.ToString("0.##", CultureInfo.InvariantCulture)))}");
                    }
                    if (e.Resources.Count > 0)
                    {
                        Console.WriteLine($"      resources: {string.Join(", ", e.Resources)}");
                    }
                    if (e.EventIds.Count > 0)
                    {
                        Console.WriteLine($"      events: {string.Join(' ', e.EventIds.Take(5))}{(e.EventIds.Count > 5 ? $" (+{e.EventIds.Count - 5})" : "")}");
                    }
                }
            }
            return 0;
        }));
        return command;
    }

    private static Command Change(string name, AlertChange change, string description)
    {
        var id = new Argument<Guid>("incident-id") { Description = "The incident id (from alerts list)" };
        var by = new Option<string>("--by") { Description = "Who does this (recorded in the event)", Required = true };
        var note = new Option<string?>("--note") { Description = "Why, for the record" };
        var since = SinceHours();
        var command = new Command(name, description) { id, by, note, since };
        command.SetAction((parse, ct) => CliRun.Guarded($"alerts {command.Name}", async () =>
        {
            var actor = parse.GetValue(by)!.Trim();
            if (actor.Length is 0 or > 200 || actor.Any(char.IsControl))
            {
                Console.Error.WriteLine("--by must be 1–200 printable characters");
                return 2;
            }
            var incident = await FindAsync(parse.GetValue(id), parse.GetValue(since), ct);
            if (incident is null)
            {
                return 1;
            }
            if (!incident.Open)
            {
                Console.Error.WriteLine($"incident {incident.Opened.IncidentId} is already {WireNames.Of(incident.Latest.Change)}");
                return 1;
            }
            var alert = IncidentCombiner.PersonChange(incident.Latest, change, actor, parse.GetValue(note), DateTimeOffset.UtcNow);
            await Log().AppendAsync([alert], "auditctl", ct);
            Console.WriteLine($"incident {incident.Opened.IncidentId} {WireNames.Of(change)} by {actor} (event {alert.EventId})");
            return 0;
        }));
        return command;
    }

    private static async Task<IncidentState?> FindAsync(Guid id, int sinceHours, CancellationToken ct)
    {
        var incidents = await Log().IncidentsAsync(DateTimeOffset.UtcNow.AddHours(-sinceHours), ct);
        var incident = incidents.FirstOrDefault(i => i.Opened.IncidentId == id);
        if (incident is null)
        {
            Console.Error.WriteLine($"no incident {id} in the last {sinceHours} hours");
        }
        return incident;
    }

    private static AlertLog Log()
    {
        var source = CliSettings.AppDataSource();
        return new AlertLog(source, new PostgresEventStore(source, TimeProvider.System));
    }
}
