using AuditPipeline.Contracts;

namespace AuditPipeline.Emitter;

/// <summary>Builds events with the parts every emitter gets wrong by hand filled in.</summary>
public static class AgentActions
{
    /// <summary>
    /// A new event with a fresh time-ordered id (UUIDv7, the idempotency key: keep it when
    /// retrying), the current time and the current schema version.
    /// </summary>
    public static AgentActionOccurred Create(
        AgentIdentity agent, Delegation delegation, ActionPerformed action, AuthorizationDecision authorization,
        Outcome? outcome = null, Usage? usage = null, ActionContext? context = null, TimeProvider? clock = null)
    {
        var now = (clock ?? TimeProvider.System).GetUtcNow();
        return new AgentActionOccurred
        {
            EventId = Guid.CreateVersion7(now),
            OccurredAt = Timestamps.ToUtcMicroseconds(now),
            SchemaVersion = AgentActionOccurred.CurrentSchemaVersion,
            Agent = agent,
            Delegation = delegation,
            Action = action,
            Authorization = authorization,
            Usage = usage,
            Context = context,
            Outcome = outcome ?? new Outcome { Status = OutcomeStatus.Success },
        };
    }
}
