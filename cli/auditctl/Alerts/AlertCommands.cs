using System.CommandLine;
using System.Globalization;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;

namespace AuditPipeline.Cli.Alerts;

/// <summary>
/// <c>auditctl alerts list|show|ack|resolve</c>. The list reads the incidents read model; show, ack
/// and resolve fold the incident's own stream, and ack/resolve append expecting the version they
/// read: exit 1 when there is no such incident or it is closed, 2 on bad input or a store error,
/// 3 when the incident changed concurrently (nothing was written; read it again).
/// </summary>
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

    public const int ConflictExitCode = 3;

    private static Option<int> SinceHours() => new("--since-hours") { Description = "Look back this many hours", DefaultValueFactory = _ => 24 * 7 };

    // Accepted so existing scripts keep working: one incident is read from its whole stream, whatever its age.
    private static Option<int> IgnoredSinceHours() => new("--since-hours") { Hidden = true };

    private static Command List()
    {
        var all = new Option<bool>("--all") { Description = "Include recovered and resolved incidents" };
        var since = SinceHours();
        var command = new Command("list", "Incidents, newest first: open ones unless --all") { all, since, JsonOutput.Flag };
        command.SetAction((parse, ct) => CliRun.Guarded($"alerts {command.Name}", async () =>
        {
            if (parse.GetValue(since) <= 0)
            {
                Console.Error.WriteLine("--since-hours must be positive");
                return 2;
            }
            await using var source = CliSettings.AppDataSource();
            var shown = await new IncidentReadModel(source).ListAsync(
                new IncidentQuery(DateTimeOffset.UtcNow.AddHours(-parse.GetValue(since)), int.MaxValue) { OpenOnly = !parse.GetValue(all) }, ct);
            if (parse.GetValue(JsonOutput.Flag))
            {
                JsonOutput.Write(shown);
                return 0;
            }
            Console.WriteLine($"{shown.Count} {(parse.GetValue(all) ? "" : "open ")}incidents");
            var table = new ListOutput("Incident", "Severity", "State", "Since (UTC)", "Categories", "Title");
            foreach (var i in shown)
            {
                var state = i.Status == "acknowledged" ? $"acknowledged by {i.AcknowledgedBy}" : i.Status;
                var startedAt = i.StartedAt.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
                var categories = string.Join(',', i.Categories);
                table.Add(string.Create(CultureInfo.InvariantCulture, $"{i.IncidentId}  {i.Severity,-8} {state,-12} since {startedAt}  [{categories}]  {i.Title}"),
                    i.IncidentId.ToString(), i.Severity, state, startedAt, categories, i.Title);
            }
            table.Write();
            return 0;
        }));
        return command;
    }

    private static Command Show()
    {
        var id = new Argument<Guid>("incident-id") { Description = "The incident id (from alerts list)" };
        var command = new Command("show", "An incident's history and the evidence behind each change") { id, IgnoredSinceHours(), JsonOutput.Flag };
        command.SetAction((parse, ct) => CliRun.Guarded($"alerts {command.Name}", async () =>
        {
            var incident = await FindAsync(Log(), parse.GetValue(id), ct);
            if (incident is null)
            {
                return 1;
            }
            if (parse.GetValue(JsonOutput.Flag))
            {
                JsonOutput.Write(new
                {
                    incident.IncidentId, incident.Opened.Title, incident.Opened.AgentId, incident.Opened.Owner,
                    Severity = WireNames.Of(incident.Severity), incident.Open, incident.Version,
                    Changes = incident.Changes.Select(c => new
                    {
                        c.At, Change = WireNames.Of(c.Change), Severity = WireNames.Of(c.Severity), c.Actor, c.Summary, c.EventId, c.Evidence,
                    }),
                });
                return 0;
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
        var command = new Command(name, description) { id, by, note, IgnoredSinceHours() };
        command.SetAction((parse, ct) => CliRun.Guarded($"alerts {command.Name}", async () =>
        {
            var actor = parse.GetValue(by)!.Trim();
            if (actor.Length is 0 or > 200 || actor.Any(char.IsControl))
            {
                Console.Error.WriteLine("--by must be 1–200 printable characters");
                return 2;
            }
            var log = Log();
            var incident = await FindAsync(log, parse.GetValue(id), ct);
            if (incident is null)
            {
                return 1;
            }
            switch (await log.ChangeAsync(incident, change, actor, parse.GetValue(note), DateTimeOffset.UtcNow, ct))
            {
                case IncidentChangeOutcome.Changed changed:
                    Console.WriteLine($"incident {incident.IncidentId} {WireNames.Of(change)} by {actor} (event {changed.Change.EventId})");
                    return 0;
                case IncidentChangeOutcome.Refused refused:
                    Console.Error.WriteLine(refused.Reason);
                    return 1;
                case IncidentChangeOutcome.Conflict conflict:
                    Console.Error.WriteLine($"alerts {command.Name}: incident {incident.IncidentId} changed while you acted (version {incident.Version} read, now {conflict.ActualVersion}); nothing was recorded, run alerts show and try again");
                    return ConflictExitCode;
                default:
                    throw new InvalidOperationException("unexpected outcome");
            }
        }));
        return command;
    }

    private static async Task<IncidentState?> FindAsync(AlertLog log, Guid id, CancellationToken ct)
    {
        var incident = await log.LoadAsync(id, ct);
        if (incident is null)
        {
            Console.Error.WriteLine($"no incident {id}");
        }
        return incident;
    }

    private static AlertLog Log()
    {
        var source = CliSettings.AppDataSource();
        return new AlertLog(source, new PostgresEventStore(source, TimeProvider.System));
    }
}
