namespace AuditPipeline.Contracts;

/// <summary>One link of the delegation path, from the human to the action.</summary>
public sealed record DelegationLink(string Kind, string Id, string? Detail);

/// <summary>Who an action was done for and on what authority, read from the event alone (why-authorized, bundles, the CLI).</summary>
public static class DelegationPath
{
    /// <summary>The path human → delegations → agent → action → decision → policy → approvals → grant, from the event alone.</summary>
    public static List<DelegationLink> Of(AgentActionOccurred e)
    {
        var path = new List<DelegationLink>();
        if (e.Delegation.OnBehalfOf is { } human && (e.Delegation.Chain.Count == 0 || e.Delegation.Chain[0].Id != human))
        {
            path.Add(new("human", human, "on whose behalf the agent acts"));
        }
        path.AddRange(e.Delegation.Chain.Select(a => new DelegationLink(WireNames.Of(a.Type), a.Id, a.Name)));
        if (e.Delegation.ParentAgentId is { } parent)
        {
            path.Add(new("agent", parent, "parent agent that spawned it"));
        }
        path.Add(new("agent", e.Agent.Id, $"{e.Agent.Name}, owner {e.Agent.Owner ?? "NONE (unowned)"}"));
        path.Add(new("action", $"{e.Action.Operation} {e.Action.Resource.Type}:{e.Action.Resource.Id}",
            $"{WireNames.Of(e.Action.Resource.Sensitivity)} via {e.Action.Tool ?? "-"}"));
        var authz = e.Authorization;
        path.Add(new("decision", WireNames.Of(authz.Decision), authz.Reason));
        path.Add(new("policy", $"{authz.PolicyId}@{authz.PolicyVersion}", authz.Rule is null ? null : $"rule {authz.Rule}"));
        path.AddRange(authz.Approvals.Select(a => new DelegationLink("approval", a.Approver, $"approved at {a.ApprovedAt:O}")));
        if (authz.GrantExpiresAt is { } expiry)
        {
            path.Add(new("grant", $"expires {expiry:O}", null));
        }
        return path;
    }
}
