using System.Globalization;
using AuditPipeline.ClickHouse;
using AuditPipeline.EventStore;
using AuditPipeline.QueryApi.Auth;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuditPipeline.QueryApi.Endpoints;

/// <summary>An agent from the inventory read model.</summary>
public sealed record AgentSummary(
    string AgentId, string Name, string? Owner, string? Team, string? RiskTier, IReadOnlyList<string> ModelVersions,
    DateTimeOffset FirstSeen, DateTimeOffset LastSeen, long Actions, long Denied, decimal CostUsd, bool Unowned);

public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);

public sealed record HourlyVolume(DateTimeOffset Hour, long Actions, long Denied);

public sealed record AgentDetail(AgentSummary Agent, IReadOnlyList<HourlyVolume> Last24Hours, IReadOnlyList<IncidentSummary> OpenAlerts);

public static class AgentEndpoints
{
    public static void Map(WebApplication app)
    {
        var group = app.MapGroup("/v1/agents").RequireAuthorization(Policies.ReadActivity).WithTags("agents");

        group.MapGet("/", async (HttpContext http, NpgsqlDataSource db, IOptions<QueryApiOptions> options, CancellationToken ct) =>
        {
            var q = http.Request.Query;
            var limit = QueryInput.Limit(q["limit"], options.Value);
            var after = QueryInput.ReadCursor(q["cursor"], 1)?[0] ?? "";
            var scope = AccessScope.Of(http.User);
            await using var cmd = db.CreateCommand(ApiSql.AgentsPage);
            cmd.Parameters.AddWithValue("after", after);
            cmd.Parameters.AddWithValue("owner", (object?)QueryInput.Id(q["owner"], "owner") ?? DBNull.Value);
            cmd.Parameters.AddWithValue("team", (object?)QueryInput.Id(q["team"], "team") ?? DBNull.Value);
            cmd.Parameters.AddWithValue("unowned", (object?)QueryInput.Bool(q["unowned"], "unowned") ?? DBNull.Value);
            cmd.Parameters.AddWithValue("scope_teams", scope.Teams.ToArray());
            cmd.Parameters.AddWithValue("scope_owners", scope.Owners.ToArray());
            cmd.Parameters.AddWithValue("limit", limit + 1);
            var agents = await ReadAgentsAsync(cmd, ct);
            var next = agents.Count > limit ? QueryInput.Cursor(agents[limit - 1].AgentId) : null;
            return Results.Ok(new Page<AgentSummary>(agents.Take(limit).ToList(), next));
        }).WithSummary("The agent inventory: owner, team, tier, volumes, unowned flag; filter by owner, team, unowned");

        group.MapGet("/{agentId}", async (string agentId, HttpContext http, NpgsqlDataSource db, ClickHouseClient clickHouse, AgentScopes scopes,
            IncidentReadModel incidents, TimeProvider clock, IOptions<QueryApiOptions> options, CancellationToken ct) =>
        {
            QueryInput.Id(agentId, "agentId");
            if (!await scopes.AllowsAsync(http.User, agentId, ct) || await FindAsync(db, agentId, ct) is not { } agent)
            {
                return NotFound($"No agent '{agentId}'.");
            }
            var since = clock.GetUtcNow().AddHours(-24);
            var tsv = await clickHouse.QueryAsync(
                $"SELECT toUnixTimestamp(toStartOfHour(minute)) AS hour, sum(actions), sumIf(actions, decision = 'deny') FROM agent_minute_counts " +
                $"WHERE agent_id = {ClickHouseSql.Literal(agentId)} AND minute >= {ClickHouseSql.Literal(since)} GROUP BY hour ORDER BY hour FORMAT TSV", ct);
            var volume = tsv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t')).Select(f => new HourlyVolume(
                DateTimeOffset.FromUnixTimeSeconds(long.Parse(f[0], CultureInfo.InvariantCulture)),
                long.Parse(f[1], CultureInfo.InvariantCulture), long.Parse(f[2], CultureInfo.InvariantCulture))).ToList();
            var open = (await incidents.ListAsync(AlertEndpoints.Query(http, clock, options.Value, options.Value.MaxPageSize) with { OpenOnly = true, AgentId = agentId }, ct))
                .Select(IncidentSummary.From).ToList();
            return Results.Ok(new AgentDetail(agent, volume, open));
        }).WithSummary("One agent: inventory, hourly volume over the last 24 hours, open alerts");
    }

    public static async Task<AgentSummary?> FindAsync(NpgsqlDataSource db, string agentId, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(ApiSql.Agent);
        cmd.Parameters.AddWithValue("agent_id", agentId);
        return (await ReadAgentsAsync(cmd, ct)).FirstOrDefault();
    }

    public static IResult NotFound(string detail) => Results.Problem(statusCode: 404, title: "Not found", detail: detail);

    private static async Task<List<AgentSummary>> ReadAgentsAsync(NpgsqlCommand cmd, CancellationToken ct)
    {
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var agents = new List<AgentSummary>();
        while (await r.ReadAsync(ct))
        {
            agents.Add(new AgentSummary(r.GetString(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3),
                r.IsDBNull(4) ? null : r.GetString(4), r.GetFieldValue<string[]>(5), r.GetFieldValue<DateTimeOffset>(6), r.GetFieldValue<DateTimeOffset>(7),
                r.GetInt64(8), r.GetInt64(9), r.GetInt64(10) / 1_000_000m, r.GetBoolean(11)));
        }
        return agents;
    }
}
