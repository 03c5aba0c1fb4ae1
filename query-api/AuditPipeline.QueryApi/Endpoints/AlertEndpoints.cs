using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Detectors;
using AuditPipeline.QueryApi.Auth;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuditPipeline.QueryApi.Endpoints;

public sealed record IncidentSummary(
    Guid IncidentId, string AgentId, string? Owner, string Severity, string Status, string? AcknowledgedBy,
    IReadOnlyList<string> Categories, string Title, DateTimeOffset StartedAt, DateTimeOffset UpdatedAt)
{
    public static IncidentSummary From(IncidentState i) => new(
        i.Opened.IncidentId, i.Opened.AgentId, i.Opened.Owner, WireNames.Of(i.Severity),
        i.Open ? i.AcknowledgedBy is null ? "open" : "acknowledged" : WireNames.Of(i.Latest.Change),
        i.AcknowledgedBy, i.Latest.Categories, i.Latest.Title, i.Opened.StartedAt, i.Latest.At);
}

public sealed record IncidentDetail(IncidentSummary Incident, IReadOnlyList<AgentAlert> Changes);

public sealed record AlertChangeRequest(string? Note);

public static class AlertEndpoints
{
    public static void Map(WebApplication app)
    {
        var group = app.MapGroup("/v1/alerts").WithTags("alerts");

        group.MapGet("/", async (HttpContext http, AlertLog alerts, NpgsqlDataSource db, TimeProvider clock, IOptions<QueryApiOptions> options, CancellationToken ct) =>
        {
            var q = http.Request.Query;
            var limit = QueryInput.Limit(q["limit"], options.Value);
            var status = QueryInput.OneOf(q["status"], "status", "open", "all") ?? "open";
            var severity = QueryInput.OneOf(q["severity"], "severity", "low", "medium", "high", "critical");
            var agent = QueryInput.Id(q["agent"], "agent");
            var cursor = QueryInput.ReadCursor(q["cursor"], 2);
            var visible = await VisibleAsync(http, alerts, db, clock, options.Value, ct);
            var ordered = visible
                .Where(i => status == "all" || i.Open)
                .Where(i => severity is null || WireNames.Of(i.Severity) == severity)
                .Where(i => agent is null || i.Opened.AgentId == agent)
                .OrderByDescending(i => i.Opened.StartedAt).ThenBy(i => i.Opened.IncidentId)
                .Select(IncidentSummary.From);
            if (cursor is not null)
            {
                var (started, id) = (DateTimeOffset.Parse(cursor[0], System.Globalization.CultureInfo.InvariantCulture), Guid.Parse(cursor[1]));
                ordered = ordered.SkipWhile(i => i.StartedAt > started || (i.StartedAt == started && i.IncidentId.CompareTo(id) <= 0));
            }
            var page = ordered.Take(limit + 1).ToList();
            var next = page.Count > limit ? QueryInput.Cursor(page[limit - 1].StartedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture), page[limit - 1].IncidentId.ToString()) : null;
            return Results.Ok(new Page<IncidentSummary>(page.Take(limit).ToList(), next));
        }).RequireAuthorization(Policies.ReadAlerts).WithSummary("Alert incidents, newest first: status open|all, severity, agent");

        group.MapGet("/{incidentId:guid}", async (Guid incidentId, HttpContext http, AlertLog alerts, NpgsqlDataSource db, TimeProvider clock,
            IOptions<QueryApiOptions> options, CancellationToken ct) =>
        {
            var incident = (await VisibleAsync(http, alerts, db, clock, options.Value, ct)).FirstOrDefault(i => i.Opened.IncidentId == incidentId);
            return incident is null
                ? AgentEndpoints.NotFound($"No incident {incidentId}.")
                : Results.Ok(new IncidentDetail(IncidentSummary.From(incident), incident.Changes));
        }).RequireAuthorization(Policies.ReadAlerts).WithSummary("One incident with every change and its evidence");

        group.MapPost("/{incidentId:guid}/acknowledge", (Guid incidentId, AlertChangeRequest? body, HttpContext http, AlertLog alerts, NpgsqlDataSource db,
            TimeProvider clock, IOptions<QueryApiOptions> options, CancellationToken ct) =>
            ChangeAsync(incidentId, AlertChange.Acknowledged, body, http, alerts, db, clock, options.Value, ct))
            .RequireAuthorization(Policies.ChangeAlerts).WithSummary("Acknowledge an open incident (recorded as an alert event)");

        group.MapPost("/{incidentId:guid}/resolve", (Guid incidentId, AlertChangeRequest? body, HttpContext http, AlertLog alerts, NpgsqlDataSource db,
            TimeProvider clock, IOptions<QueryApiOptions> options, CancellationToken ct) =>
            ChangeAsync(incidentId, AlertChange.Resolved, body, http, alerts, db, clock, options.Value, ct))
            .RequireAuthorization(Policies.ChangeAlerts).WithSummary("Resolve an open incident (recorded as an alert event)");
    }

    private static async Task<IResult> ChangeAsync(Guid incidentId, AlertChange change, AlertChangeRequest? body, HttpContext http, AlertLog alerts,
        NpgsqlDataSource db, TimeProvider clock, QueryApiOptions options, CancellationToken ct)
    {
        var note = body?.Note;
        if (note is { Length: > 2000 } || (note is not null && note.Any(c => char.IsControl(c) && c is not '\n' and not '\t')))
        {
            throw new InvalidInputException("note", "'note' must be at most 2,000 characters without control characters.");
        }
        var incident = (await VisibleAsync(http, alerts, db, clock, options, ct)).FirstOrDefault(i => i.Opened.IncidentId == incidentId);
        if (incident is null)
        {
            return AgentEndpoints.NotFound($"No incident {incidentId}.");
        }
        if (!incident.Open)
        {
            return Results.Problem(statusCode: 409, title: "Incident closed", detail: $"Incident {incidentId} is already {WireNames.Of(incident.Latest.Change)}.");
        }
        var call = CallContext.Of(http);
        var actor = $"{call.PrincipalOwner} (key {call.Principal})";
        var alert = IncidentCombiner.PersonChange(incident.Latest, change, actor, note, clock.GetUtcNow());
        await alerts.AppendAsync([alert], "query-api", ct);
        var after = IncidentState.From([.. incident.Changes, alert]);
        return Results.Ok(IncidentSummary.From(after));
    }

    /// <summary>Incidents of the look-back window that the principal's scope covers (by the agent's owner or team).</summary>
    private static async Task<List<IncidentState>> VisibleAsync(HttpContext http, AlertLog alerts, NpgsqlDataSource db, TimeProvider clock,
        QueryApiOptions options, CancellationToken ct)
    {
        var incidents = await alerts.IncidentsAsync(clock.GetUtcNow().AddDays(-options.AlertLookbackDays), ct);
        var scope = AccessScope.Of(http.User);
        if (!scope.IsScoped)
        {
            return incidents;
        }
        var visible = new List<IncidentState>();
        foreach (var incident in incidents)
        {
            // An owner-budget incident is about its subject owner; any other by its agent's pinned scope.
            if ((incident.Opened.SubjectOwner is { } owner && scope.Owners.Contains(owner))
                || await http.RequestServices.GetRequiredService<AgentScopes>().AllowsAsync(http.User, incident.Opened.AgentId, ct))
            {
                visible.Add(incident);
            }
        }
        return visible;
    }
}
