using System.Security.Claims;
using AuditPipeline.ClickHouse;
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
    public async Task<bool> AllowsAsync(ClaimsPrincipal user, string agentId, CancellationToken ct)
    {
        var scope = AccessScope.Of(user);
        if (!scope.IsScoped)
        {
            return true;
        }
        await using var cmd = db.CreateCommand("SELECT team, owner FROM audit.agent_scope WHERE agent_id = @agent_id");
        cmd.Parameters.AddWithValue("agent_id", agentId);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) && scope.Allows(reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1));
    }

    /// <summary>The agents a scoped principal may see, as a ClickHouse condition on <c>agent_id</c> (values quoted by <see cref="ClickHouseSql.Literal(string)"/>).</summary>
    public async Task<string> ClickHouseConditionAsync(ClaimsPrincipal user, CancellationToken ct)
    {
        var scope = AccessScope.Of(user);
        if (!scope.IsScoped)
        {
            return "1";
        }
        await using var cmd = db.CreateCommand(
            "SELECT agent_id FROM audit.agent_scope WHERE team = ANY(@teams) OR owner = ANY(@owners) ORDER BY agent_id");
        cmd.Parameters.AddWithValue("teams", scope.Teams.ToArray());
        cmd.Parameters.AddWithValue("owners", scope.Owners.ToArray());
        var agents = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            agents.Add(reader.GetString(0));
        }
        return agents.Count == 0 ? "0" : $"agent_id IN ({string.Join(", ", agents.Select(ClickHouseSql.Literal))})";
    }
}
