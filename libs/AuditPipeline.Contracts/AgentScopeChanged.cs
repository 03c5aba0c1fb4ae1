namespace AuditPipeline.Contracts;

/// <summary>
/// An operator moved an agent to another team or owner (contract <c>agent-scope.v1</c>). An agent's
/// scope (which decides what a scoped API key may see and which legal holds apply) is pinned by its
/// first action; only this event, which only the operations role may append, changes it. The
/// store applies it in the same transaction that appends it (audit.append_commit).
/// </summary>
public sealed record AgentScopeChanged
{
    public const string TypeName = "agent-scope.v1";

    public required Guid EventId { get; init; }
    public required DateTimeOffset At { get; init; }
    public required string AgentId { get; init; }
    /// <summary>The new team and owner (null: none).</summary>
    public string? Team { get; init; }
    public string? Owner { get; init; }
    /// <summary>What it was before, for the reader of the log.</summary>
    public string? PreviousTeam { get; init; }
    public string? PreviousOwner { get; init; }
    public required string Actor { get; init; }
    public required string Reason { get; init; }

    /// <summary>One chain per agent's scope history; the space keeps it apart from the agent's own chain.</summary>
    public static string StreamOf(string agentId) => $"agent-scope {agentId}";
}
