using System.Security.Claims;
using AuditPipeline.ClickHouse;
using AuditPipeline.Access;
using Npgsql;

namespace AuditPipeline.QueryApi.Auth;

/// <summary>
/// The one place that decides whether a scoped principal may see an agent: by the agent's pinned
/// team and owner (audit.agent_scope, set by its first action and changed only by an operator's
/// agent-scope.v1 event), never by what its later events, ClickHouse rows or the read model say.
/// Endpoints ask before doing any work and answer "absent" and "not yours" with the same 404.
/// </summary>
public sealed class AgentScopes(NpgsqlDataSource db)
{
    private readonly AgentScopeStore _store = new(db);

    public async Task<bool> AllowsAsync(ClaimsPrincipal user, string agentId, CancellationToken ct)
    {
        var scope = AccessScope.Of(user);
        return !scope.IsScoped || (await _store.FindAsync(agentId, ct) is { } pinned && scope.Allows(pinned.Team, pinned.Owner));
    }

    /// <summary>The agents a scoped principal may see, as a ClickHouse condition on <c>agent_id</c> (values quoted by <see cref="ClickHouseSql.Literal(string)"/>).</summary>
    public async Task<string> ClickHouseConditionAsync(ClaimsPrincipal user, CancellationToken ct)
    {
        var scope = AccessScope.Of(user);
        if (!scope.IsScoped)
        {
            return "1";
        }
        var agents = await _store.AgentsOfAsync(scope.Teams, scope.Owners, ct);
        return agents.Count == 0 ? "0" : $"agent_id IN ({string.Join(", ", agents.Select(ClickHouseSql.Literal))})";
    }
}
