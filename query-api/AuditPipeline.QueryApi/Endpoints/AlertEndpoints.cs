using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.QueryApi.Auth;
using Microsoft.Extensions.Options;

namespace AuditPipeline.QueryApi.Endpoints;

public sealed record IncidentSummary(
    Guid IncidentId, string AgentId, string? Owner, string Severity, string Status, string? AcknowledgedBy,
    IReadOnlyList<string> Categories, string Title, DateTimeOffset StartedAt, DateTimeOffset UpdatedAt)
{
    public static IncidentSummary From(IncidentState i) => new(
        i.IncidentId, i.Opened.AgentId, i.Opened.Owner, WireNames.Of(i.Severity), i.Status,
        i.AcknowledgedBy, i.Latest.Categories, i.Latest.Title, i.Opened.StartedAt, i.Latest.At);

    public static IncidentSummary From(IncidentRow i) => new(
        i.IncidentId, i.AgentId, i.Owner, i.Severity, i.Status, i.AcknowledgedBy, i.Categories, i.Title, i.StartedAt, i.UpdatedAt);
}

public sealed record IncidentDetail(IncidentSummary Incident, IReadOnlyList<AgentAlert> Changes);

public sealed record AlertChangeRequest(string? Note);

/// <summary>
/// /v1/alerts: listings read the incidents read model (one query, scope joined in); one incident,
/// acknowledge and resolve fold the incident's own stream, and a change is appended expecting the
/// version it was read at, so a concurrent change is a 409 rather than a second transition.
/// </summary>
public static class AlertEndpoints
{
    public static void Map(WebApplication app)
    {
        var group = app.MapGroup("/v1/alerts").WithTags("alerts");

        group.MapGet("/", async (HttpContext http, IncidentReadModel incidents, TimeProvider clock, IOptions<QueryApiOptions> options, CancellationToken ct) =>
        {
            var q = http.Request.Query;
            var limit = QueryInput.Limit(q["limit"], options.Value);
            var status = QueryInput.OneOf(q["status"], "status", "open", "all") ?? "open";
            var severity = QueryInput.OneOf(q["severity"], "severity", "low", "medium", "high", "critical");
            var agent = QueryInput.Id(q["agent"], "agent");
            var cursor = QueryInput.ReadCursor(q["cursor"], 2);
            var page = await incidents.ListAsync(Query(http, clock, options.Value, limit + 1) with
            {
                OpenOnly = status == "open",
                Severity = severity,
                AgentId = agent,
                After = cursor is null ? null : (DateTimeOffset.Parse(cursor[0], System.Globalization.CultureInfo.InvariantCulture), Guid.Parse(cursor[1])),
            }, ct);
            var next = page.Count > limit ? QueryInput.Cursor(page[limit - 1].StartedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture), page[limit - 1].IncidentId.ToString()) : null;
            return Results.Ok(new Page<IncidentSummary>(page.Take(limit).Select(IncidentSummary.From).ToList(), next));
        }).RequireAuthorization(Policies.ReadAlerts).WithSummary("Alert incidents, newest first: status open|all, severity, agent");

        group.MapGet("/{incidentId:guid}", async (Guid incidentId, HttpContext http, AlertLog alerts, CancellationToken ct) =>
        {
            var incident = await FindVisibleAsync(incidentId, http, alerts, ct);
            return incident is null
                ? AgentEndpoints.NotFound($"No incident {incidentId}.")
                : Results.Ok(new IncidentDetail(IncidentSummary.From(incident), incident.Changes));
        }).RequireAuthorization(Policies.ReadAlerts).WithSummary("One incident with every change and its evidence");

        group.MapPost("/{incidentId:guid}/acknowledge", (Guid incidentId, AlertChangeRequest? body, HttpContext http, AlertLog alerts,
            TimeProvider clock, CancellationToken ct) =>
            ChangeAsync(incidentId, AlertChange.Acknowledged, body, http, alerts, clock, ct))
            .RequireAuthorization(Policies.ChangeAlerts)
            .WithSummary("Acknowledge an open incident (recorded as an alert event); 409 when it is closed or changed concurrently");

        group.MapPost("/{incidentId:guid}/resolve", (Guid incidentId, AlertChangeRequest? body, HttpContext http, AlertLog alerts,
            TimeProvider clock, CancellationToken ct) =>
            ChangeAsync(incidentId, AlertChange.Resolved, body, http, alerts, clock, ct))
            .RequireAuthorization(Policies.ChangeAlerts)
            .WithSummary("Resolve an open incident (recorded as an alert event); 409 when it is closed or changed concurrently");
    }

    /// <summary>The listing's look-back and the principal's scope: the same for the list and an agent's open incidents.</summary>
    public static IncidentQuery Query(HttpContext http, TimeProvider clock, QueryApiOptions options, int limit)
    {
        var scope = AccessScope.Of(http.User);
        return new IncidentQuery(clock.GetUtcNow().AddDays(-options.AlertLookbackDays), limit) { Teams = scope.Teams, Owners = scope.Owners };
    }

    private static async Task<IResult> ChangeAsync(Guid incidentId, AlertChange change, AlertChangeRequest? body, HttpContext http, AlertLog alerts,
        TimeProvider clock, CancellationToken ct)
    {
        var note = body?.Note;
        if (note is { Length: > 2000 } || (note is not null && note.Any(c => char.IsControl(c) && c is not '\n' and not '\t')))
        {
            throw new InvalidInputException("note", "'note' must be at most 2,000 characters without control characters.");
        }
        var incident = await FindVisibleAsync(incidentId, http, alerts, ct);
        if (incident is null)
        {
            return AgentEndpoints.NotFound($"No incident {incidentId}.");
        }
        var call = CallContext.Of(http);
        var actor = $"{call.PrincipalOwner} (key {call.Principal})";
        return await alerts.ChangeAsync(incident, change, actor, note, clock.GetUtcNow(), ct) switch
        {
            IncidentChangeOutcome.Changed changed => Results.Ok(IncidentSummary.From(changed.After)),
            IncidentChangeOutcome.Refused refused => Results.Problem(statusCode: 409, title: "Incident closed", detail: $"Incident {incidentId} is already {WireNames.Of(refused.Incident.Latest.Change)}."),
            IncidentChangeOutcome.Conflict conflict => Results.Problem(statusCode: 409, title: "Incident changed",
                detail: $"Incident {incidentId} changed while this request was handled (version {conflict.Incident.Version} was read, it is now at {conflict.ActualVersion}); read it again and retry if the change still applies."),
            var other => throw new InvalidOperationException($"unexpected outcome {other}"),
        };
    }

    /// <summary>The incident if the principal's scope covers it (an owner-budget incident by its subject owner, any other by its agent's pinned scope).</summary>
    private static async Task<IncidentState?> FindVisibleAsync(Guid incidentId, HttpContext http, AlertLog alerts, CancellationToken ct)
    {
        var incident = await alerts.LoadAsync(incidentId, ct);
        if (incident is null || !AccessScope.Of(http.User).IsScoped)
        {
            return incident;
        }
        return (incident.Opened.SubjectOwner is { } owner && AccessScope.Of(http.User).Owners.Contains(owner))
            || await http.RequestServices.GetRequiredService<AgentScopes>().AllowsAsync(http.User, incident.Opened.AgentId, ct)
            ? incident : null;
    }
}
