using AuditPipeline.Contracts;

namespace AuditPipeline.Testing;

/// <summary>Hand-made events the API, integrity and console tests share.</summary>
public static class TestScenarios
{
    /// <summary>
    /// A transfer on behalf of alice@example.com through an orchestrator service under policy
    /// payments-policy@<paramref name="policyVersion"/>: first denied (no approval, 2 minutes
    /// before <paramref name="at"/>), then allowed at <paramref name="at"/> with bob@example.com's approval.
    /// </summary>
    public static (AgentActionOccurred Denied, AgentActionOccurred Approved) DeniedThenApproved(
        AgentIdentity agent, DateTimeOffset at, string policyVersion = "v12", Guid? deniedId = null, Guid? approvedId = null)
    {
        AgentActionOccurred Make(Guid id, DateTimeOffset when, Decision decision, IReadOnlyList<Approval> approvals, string rule, string reason) => new()
        {
            EventId = id,
            OccurredAt = Timestamps.ToUtcMicroseconds(when),
            SchemaVersion = AgentActionOccurred.CurrentSchemaVersion,
            Agent = agent,
            Delegation = new Delegation
            {
                OnBehalfOf = "alice@example.com",
                Chain = [new Actor { Type = ActorType.Human, Id = "alice@example.com" }, new Actor { Type = ActorType.Service, Id = "orchestrator-1", Name = "workflow orchestrator" }],
            },
            Action = new ActionPerformed
            {
                Operation = "transfer", Tool = "erp.api", Resource = new TargetResource { Type = "ledger", Id = "ledger/eu/42", Sensitivity = Sensitivity.Financial },
                Input = "transfer 900 EUR from ledger eu/42 to the supplier alice@example.com named",
            },
            Authorization = new AuthorizationDecision
            {
                Decision = decision, PolicyId = "payments-policy", PolicyVersion = policyVersion, Rule = rule, Reason = reason, Approvals = approvals,
            },
            Outcome = new Outcome { Status = decision == Decision.Allow ? OutcomeStatus.Success : OutcomeStatus.Failure },
        };
        return (
            Make(deniedId ?? Guid.CreateVersion7(at.AddMinutes(-2)), at.AddMinutes(-2), Decision.Deny, [], "deny-transfer-without-approval", "transfers need a second person's approval"),
            Make(approvedId ?? Guid.CreateVersion7(at), at, Decision.Allow,
                [new Approval { Approver = "bob@example.com", ApprovedAt = Timestamps.ToUtcMicroseconds(at.AddMinutes(-1)), ApprovalId = "apr-9" }],
                "allow-transfer-with-approval", "approved by a second person"));
    }

    /// <summary>A high-severity volume alert change about <paramref name="agent"/>, started 10 minutes before <paramref name="at"/>.</summary>
    public static AgentAlert VolumeAlert(Guid incident, string agent, DateTimeOffset at, AlertChange change = AlertChange.Opened, string? actor = null) => new()
    {
        EventId = Guid.CreateVersion7(),
        IncidentId = incident,
        Change = change,
        AgentId = agent,
        Severity = AlertSeverity.High,
        Categories = ["volume"],
        Title = $"{agent}: 400 actions in a minute",
        Summary = "400 actions in a minute, expected about 5",
        StartedAt = Timestamps.ToUtcMicroseconds(at.AddMinutes(-10)),
        At = Timestamps.ToUtcMicroseconds(at.AddMinutes(-9)),
        Actor = actor,
    };
}
