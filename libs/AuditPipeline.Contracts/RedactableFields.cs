namespace AuditPipeline.Contracts;

/// <summary>
/// The payload fields that may be redacted at ingest (docs/redaction.md lists them and why the
/// others are not): free text and personal identifiers that nothing downstream needs to read in
/// clear. Identity, scope and grouping fields (agent id, owner, team, resource, policy) stay
/// plain, because access scopes, detectors and the read models key on them.
/// </summary>
public static class RedactableFields
{
    public const string ActionInput = "action.input";
    public const string OutcomeMessage = "outcome.message";
    public const string AuthorizationReason = "authorization.reason";
    public const string OnBehalfOf = "delegation.on_behalf_of";
    public const string ChainNames = "delegation.chain[].name";
    public const string Approvers = "authorization.approvals[].approver";

    public static IReadOnlyList<string> All { get; } = [ActionInput, OutcomeMessage, AuthorizationReason, OnBehalfOf, ChainNames, Approvers];

    /// <summary>
    /// Rewrites every present value of one field; <paramref name="rewrite"/> gets the concrete
    /// path (list fields with their index, e.g. <c>delegation.chain[1].name</c>) and the value.
    /// </summary>
    public static AgentActionOccurred Map(AgentActionOccurred e, string field, Func<string, string, string> rewrite) => field switch
    {
        ActionInput when e.Action.Input is { } v => e with { Action = e.Action with { Input = rewrite(field, v) } },
        OutcomeMessage when e.Outcome.Message is { } v => e with { Outcome = e.Outcome with { Message = rewrite(field, v) } },
        AuthorizationReason when e.Authorization.Reason is { } v => e with { Authorization = e.Authorization with { Reason = rewrite(field, v) } },
        OnBehalfOf when e.Delegation.OnBehalfOf is { } v => e with { Delegation = e.Delegation with { OnBehalfOf = rewrite(field, v) } },
        ChainNames => e with
        {
            Delegation = e.Delegation with
            {
                Chain = [.. e.Delegation.Chain.Select((a, i) => a.Name is { } n ? a with { Name = rewrite($"delegation.chain[{i}].name", n) } : a)],
            },
        },
        Approvers => e with
        {
            Authorization = e.Authorization with
            {
                Approvals = [.. e.Authorization.Approvals.Select((a, i) => a with { Approver = rewrite($"authorization.approvals[{i}].approver", a.Approver) })],
            },
        },
        ActionInput or OutcomeMessage or AuthorizationReason or OnBehalfOf => e,
        _ => throw new ArgumentException($"'{field}' is not a redactable field; these are: {string.Join(", ", All)}", nameof(field)),
    };

    /// <summary>Whether the event has a value in the field (without rewriting anything: ingest asks this per event).</summary>
    public static bool HasValue(AgentActionOccurred e, string field) => field switch
    {
        ActionInput => e.Action.Input is not null,
        OutcomeMessage => e.Outcome.Message is not null,
        AuthorizationReason => e.Authorization.Reason is not null,
        OnBehalfOf => e.Delegation.OnBehalfOf is not null,
        ChainNames => e.Delegation.Chain.Any(a => a.Name is not null),
        Approvers => e.Authorization.Approvals.Count > 0,
        _ => throw new ArgumentException($"'{field}' is not a redactable field; these are: {string.Join(", ", All)}", nameof(field)),
    };

    /// <summary>Every present value of every redactable field, with its concrete path.</summary>
    public static List<(string Path, string Value)> Values(AgentActionOccurred e)
    {
        var values = new List<(string, string)>();
        foreach (var field in All)
        {
            Map(e, field, (path, value) => { values.Add((path, value)); return value; });
        }
        return values;
    }
}
