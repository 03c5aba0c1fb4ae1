using System.Globalization;
using System.Text;
using System.Text.Json;
using AuditPipeline.ClickHouse;
using AuditPipeline.QueryApi.Auth;
using Microsoft.Extensions.Options;

namespace AuditPipeline.QueryApi.Endpoints;

public sealed record ActionRow(
    Guid EventId, string AgentId, string Owner, string Team, string OnBehalfOf, string Operation, string ResourceType, string ResourceId,
    string Sensitivity, string Decision, string PolicyId, string PolicyVersion, string Rule, DateTimeOffset OccurredAt, long Position);

public sealed record CountBucket(DateTimeOffset Start, long Actions, long Denied, decimal CostUsd);

/// <summary>Action search and counts over ClickHouse; every value goes through ClickHouseSql.Literal.</summary>
public static class ActionEndpoints
{
    public static void Map(WebApplication app)
    {
        var group = app.MapGroup("/v1/actions").RequireAuthorization(Policies.ReadActivity).WithTags("actions");

        group.MapGet("/", async (HttpContext http, ClickHouseClient clickHouse, AgentScopes scopes, TimeProvider clock, IOptions<QueryApiOptions> options, CancellationToken ct) =>
        {
            var q = http.Request.Query;
            var limit = QueryInput.Limit(q["limit"], options.Value);
            var where = Filters(http, clock, options.Value, TimeSpan.FromDays(1), TimeSpan.FromDays(options.Value.MaxSearchDays), await scopes.ClickHouseConditionAsync(http.User, ct));
            if (QueryInput.ReadCursor(q["cursor"], 2) is { } cursor)
            {
                if (!long.TryParse(cursor[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ms) || !long.TryParse(cursor[1], NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
                {
                    throw new InvalidInputException("cursor", "'cursor' is not a cursor this API returned; start again without it.");
                }
                where.Append($" AND (occurred_at_ms < {ClickHouseSql.Literal(ms)} OR (occurred_at_ms = {ClickHouseSql.Literal(ms)} AND global_seq < {ClickHouseSql.Literal(seq)}))");
            }
            var json = await clickHouse.QueryAsync(
                "SELECT event_id, agent_id, owner, team, on_behalf_of, operation, resource_type, resource_id, sensitivity, decision, policy_id, policy_version, rule, " +
                $"occurred_at_ms, global_seq FROM agent_actions WHERE {where} ORDER BY occurred_at_ms DESC, global_seq DESC LIMIT {limit + 1} FORMAT JSONEachRow", ct);
            var rows = json.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Row).ToList();
            var next = rows.Count > limit
                ? QueryInput.Cursor(rows[limit - 1].OccurredAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), rows[limit - 1].Position.ToString(CultureInfo.InvariantCulture))
                : null;
            return Results.Ok(new Page<ActionRow>(rows.Take(limit).ToList(), next));
        }).WithSummary("Search actions by agent, owner, on_behalf_of, resource, decision, policy and time range (default: the last day), newest first");

        group.MapGet("/counts", async (HttpContext http, ClickHouseClient clickHouse, AgentScopes scopes, TimeProvider clock, IOptions<QueryApiOptions> options, CancellationToken ct) =>
        {
            var bucket = QueryInput.OneOf(http.Request.Query["bucket"], "bucket", "minute", "hour", "day") ?? "hour";
            var (function, maxDays) = bucket switch { "minute" => ("toStartOfMinute", 2), "hour" => ("toStartOfHour", options.Value.MaxSearchDays), _ => ("toStartOfDay", options.Value.MaxCountDays) };
            var where = Filters(http, clock, options.Value, TimeSpan.FromDays(1), TimeSpan.FromDays(maxDays), await scopes.ClickHouseConditionAsync(http.User, ct));
            var tsv = await clickHouse.QueryAsync(
                $"SELECT toUnixTimestamp({function}(occurred_at)) AS t, count(), countIf(decision = 'deny'), sum(cost_micro_usd) FROM agent_actions WHERE {where} GROUP BY t ORDER BY t FORMAT TSV", ct);
            var buckets = tsv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('\t')).Select(f => new CountBucket(
                DateTimeOffset.FromUnixTimeSeconds(long.Parse(f[0], CultureInfo.InvariantCulture)),
                long.Parse(f[1], CultureInfo.InvariantCulture), long.Parse(f[2], CultureInfo.InvariantCulture),
                long.Parse(f[3], CultureInfo.InvariantCulture) / 1_000_000m)).ToList();
            return Results.Ok(buckets);
        }).WithSummary("Actions, denials and cost per minute, hour or day for the same filters (for charts)");
    }

    /// <summary>The WHERE clause for the shared filters and the principal's scope; values quoted by ClickHouseSql.Literal only.</summary>
    private static StringBuilder Filters(HttpContext http, TimeProvider clock, QueryApiOptions options, TimeSpan defaultSpan, TimeSpan maxSpan, string scopeCondition)
    {
        var q = http.Request.Query;
        var (from, to) = QueryInput.Range(q["from"], q["to"], clock, defaultSpan, maxSpan);
        var where = new StringBuilder($"occurred_at >= {ClickHouseSql.Literal(from)} AND occurred_at < {ClickHouseSql.Literal(to)}");
        void Equal(string column, string? value)
        {
            if (value is not null)
            {
                where.Append($" AND {ClickHouseSql.Identifier(column)} = {ClickHouseSql.Literal(value)}");
            }
        }
        Equal("agent_id", QueryInput.Id(q["agent"], "agent"));
        Equal("owner", QueryInput.Id(q["owner"], "owner"));
        Equal("on_behalf_of", QueryInput.Id(q["on_behalf_of"], "on_behalf_of"));
        Equal("resource_id", QueryInput.Id(q["resource"], "resource", max: 800));
        Equal("decision", QueryInput.OneOf(q["decision"], "decision", "allow", "deny"));
        Equal("policy_id", QueryInput.Id(q["policy"], "policy"));
        // By the agents' pinned scope: the team and owner columns are what each event claimed.
        where.Append($" AND {scopeCondition}");
        _ = options;
        return where;
    }

    private static ActionRow Row(string line)
    {
        var e = JsonDocument.Parse(line).RootElement;
        string S(string name) => e.GetProperty(name).GetString() ?? "";
        long L(string name) => e.GetProperty(name) is { ValueKind: JsonValueKind.String } s ? long.Parse(s.GetString()!, CultureInfo.InvariantCulture) : e.GetProperty(name).GetInt64();
        return new ActionRow(Guid.Parse(S("event_id")), S("agent_id"), S("owner"), S("team"), S("on_behalf_of"), S("operation"), S("resource_type"),
            S("resource_id"), S("sensitivity"), S("decision"), S("policy_id"), S("policy_version"), S("rule"),
            DateTimeOffset.FromUnixTimeMilliseconds(L("occurred_at_ms")), L("global_seq"));
    }
}
