using System.Text;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using Npgsql;

namespace AuditPipeline.Access;

/// <summary>An agent's pinned team and owner, and since when (the log position of the event that set them).</summary>
public sealed record AgentScope(string AgentId, string? Team, string? Owner, DateTimeOffset PinnedAt, long PinnedBy);

/// <summary>
/// Agents' pinned scope (audit.agent_scope). The store writes it: an agent's first action pins it
/// and an <see cref="AgentScopeChanged"/> event, which only the operations role may append,
/// changes it in the same transaction. Nothing else moves it.
/// </summary>
public sealed class AgentScopeStore(NpgsqlDataSource dataSource)
{
    public async Task<AgentScope?> FindAsync(string agentId, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(AccessSql.AgentScopeFind);
        cmd.Parameters.AddWithValue("agent_id", agentId);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        return await r.ReadAsync(ct)
            ? new AgentScope(agentId, r.IsDBNull(r.GetOrdinal("team")) ? null : r.GetString(r.GetOrdinal("team")),
                r.IsDBNull(r.GetOrdinal("owner")) ? null : r.GetString(r.GetOrdinal("owner")),
                r.GetFieldValue<DateTimeOffset>(r.GetOrdinal("pinned_at")), r.GetInt64(r.GetOrdinal("pinned_by")))
            : null;
    }

    /// <summary>The agents pinned to any of the teams or owners.</summary>
    public async Task<List<string>> AgentsOfAsync(IReadOnlyList<string> teams, IReadOnlyList<string> owners, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(AccessSql.AgentScopeOf);
        cmd.Parameters.AddWithValue("teams", teams.ToArray());
        cmd.Parameters.AddWithValue("owners", owners.ToArray());
        var agents = new List<string>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct))
        {
            agents.Add(r.GetString(0));
        }
        return agents;
    }

    /// <summary>Moves an agent to another team and owner, recorded as an agent-scope.v1 event with who and why.</summary>
    public async Task<AgentScopeChanged> ChangeAsync(IStreamWriter store, string agentId, string? team, string? owner, string actor, string reason, TimeProvider clock, CancellationToken ct)
    {
        var current = await FindAsync(agentId, ct) ?? throw new ArgumentException($"no agent '{agentId}' has acted yet, so it has no scope to change");
        var now = Timestamps.ToUtcMicroseconds(clock.GetUtcNow());
        var change = new AgentScopeChanged
        {
            EventId = Guid.CreateVersion7(now), At = now, AgentId = agentId, Team = team, Owner = owner,
            PreviousTeam = current.Team, PreviousOwner = current.Owner, Actor = actor, Reason = reason,
        };
        var payload = ContractJson.SerializeCanonical(change);
        // Any version: the scope itself (audit.agent_scope) is moved by append_commit from the event, whatever came before.
        await store.AppendToStreamAsync(AgentScopeChanged.StreamOf(agentId), ExpectedVersion.Any,
            [new NewStreamEvent(change.EventId, AgentScopeChanged.TypeName, now, payload)], ct);
        return change;
    }
}
