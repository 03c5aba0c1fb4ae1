using System.Text.Json.Serialization;

namespace AuditPipeline.Contracts;

/// <summary>
/// One action taken by an AI agent (event contract v1). Published by agents and gateways to
/// the <c>agent-actions</c> topic, keyed by <see cref="AgentIdentity.Id"/>. The JSON form is
/// <c>libs/AuditPipeline.Contracts/agent-action.v1.schema.json</c>; field mappings to OCSF,
/// OpenTelemetry and CloudEvents are in <c>docs/event-contract.md</c>.
/// </summary>
public sealed record AgentActionOccurred
{
    /// <summary>Stored event type name; never derived from a CLR type name.</summary>
    public const string TypeName = "agent-action.v1";
    public const int CurrentSchemaVersion = 1;

    /// <summary>Emitter-assigned, globally unique; the idempotency key.</summary>
    public required Guid EventId { get; init; }
    /// <summary>When the action happened, UTC, kept to the microsecond.</summary>
    public required DateTimeOffset OccurredAt { get; init; }
    public required int SchemaVersion { get; init; }
    public required AgentIdentity Agent { get; init; }
    public required Delegation Delegation { get; init; }
    public required ActionPerformed Action { get; init; }
    public required AuthorizationDecision Authorization { get; init; }
    public Usage? Usage { get; init; }
    public ActionContext? Context { get; init; }
    public required Outcome Outcome { get; init; }
}

/// <summary>Who the agent is and which human is accountable for it.</summary>
public sealed record AgentIdentity
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public string? Version { get; init; }
    public string? Model { get; init; }
    public string? ModelVersion { get; init; }
    public string? Framework { get; init; }
    /// <summary>Accountable human owner. Absent means ownerless: accepted, and flagged downstream.</summary>
    public string? Owner { get; init; }
    public string? Team { get; init; }
    public RiskTier? RiskTier { get; init; }
}

[JsonConverter(typeof(StrictEnumConverter<RiskTier>))]
public enum RiskTier
{
    [JsonStringEnumMemberName("low")] Low,
    [JsonStringEnumMemberName("medium")] Medium,
    [JsonStringEnumMemberName("high")] High,
    [JsonStringEnumMemberName("critical")] Critical,
}

/// <summary>On whose behalf the agent acts, and the path of actors from that human to it.</summary>
public sealed record Delegation
{
    /// <summary>The human the agent acts for (absent for fully autonomous agents).</summary>
    public string? OnBehalfOf { get; init; }
    /// <summary>Actors from the human (first) to the agent's direct delegator (last). Omitted in JSON means none.</summary>
    public IReadOnlyList<Actor> Chain { get => _chain; init => _chain = value ?? []; }
    /// <summary>The agent that spawned this one, if any.</summary>
    public string? ParentAgentId { get; init; }

    // The source-generated deserializer passes null for an init-only member missing from the JSON,
    // overriding an initializer: the schema's default ([]) is applied here instead. An explicit
    // "chain": null never gets this far (the schema and the nullable annotations refuse it).
    private readonly IReadOnlyList<Actor> _chain = [];
}

public sealed record Actor
{
    public required ActorType Type { get; init; }
    public required string Id { get; init; }
    public string? Name { get; init; }
}

[JsonConverter(typeof(StrictEnumConverter<ActorType>))]
public enum ActorType
{
    [JsonStringEnumMemberName("human")] Human,
    [JsonStringEnumMemberName("agent")] Agent,
    [JsonStringEnumMemberName("service")] Service,
}

/// <summary>What was done, with which tool, to which resource.</summary>
public sealed record ActionPerformed
{
    public required string Operation { get; init; }
    public string? Tool { get; init; }
    public required TargetResource Resource { get; init; }
    /// <summary>
    /// What the agent sent: the prompt text or the request body, as the emitter chose to capture it.
    /// Personal data lives here; deployments encrypt it under a per-subject key at ingest (docs/redaction.md).
    /// </summary>
    public string? Input { get; init; }
}

public sealed record TargetResource
{
    public required string Type { get; init; }
    public required string Id { get; init; }
    public required Sensitivity Sensitivity { get; init; }
}

[JsonConverter(typeof(StrictEnumConverter<Sensitivity>))]
public enum Sensitivity
{
    [JsonStringEnumMemberName("public")] Public,
    [JsonStringEnumMemberName("internal")] Internal,
    [JsonStringEnumMemberName("confidential")] Confidential,
    [JsonStringEnumMemberName("pii")] Pii,
    [JsonStringEnumMemberName("financial")] Financial,
    [JsonStringEnumMemberName("production")] Production,
    [JsonStringEnumMemberName("secret")] Secret,
}

/// <summary>The policy engine's decision for this action.</summary>
public sealed record AuthorizationDecision
{
    public required Decision Decision { get; init; }
    public required string PolicyId { get; init; }
    public required string PolicyVersion { get; init; }
    public string? Rule { get; init; }
    public string? Reason { get; init; }
    /// <summary>The policy engine's id for this decision (for cross-referencing its logs).</summary>
    public string? DecisionId { get; init; }
    /// <summary>Human approvals given for this action. Omitted in JSON means none.</summary>
    public IReadOnlyList<Approval> Approvals { get => _approvals; init => _approvals = value ?? []; }
    public DateTimeOffset? GrantExpiresAt { get; init; }

    // See Delegation: the schema's default for a missing member, which the deserializer would leave null.
    private readonly IReadOnlyList<Approval> _approvals = [];
}

[JsonConverter(typeof(StrictEnumConverter<Decision>))]
public enum Decision
{
    [JsonStringEnumMemberName("allow")] Allow,
    [JsonStringEnumMemberName("deny")] Deny,
}

public sealed record Approval
{
    public required string Approver { get; init; }
    public required DateTimeOffset ApprovedAt { get; init; }
    public string? ApprovalId { get; init; }
}

public sealed record Usage
{
    public long InputTokens { get; init; }
    public long OutputTokens { get; init; }
    /// <summary>Cost in US dollars; decimal so the canonical form never rounds.</summary>
    public decimal CostUsd { get; init; }
    public long DurationMs { get; init; }
}

/// <summary>Correlation with traces, sessions and the gateway that saw the action.</summary>
public sealed record ActionContext
{
    public string? TraceId { get; init; }
    public string? SpanId { get; init; }
    public string? SessionId { get; init; }
    public string? TaskId { get; init; }
    /// <summary>Hash of the prompt (never the prompt itself).</summary>
    public string? PromptHash { get; init; }
    public string? GatewayId { get; init; }
}

public sealed record Outcome
{
    public required OutcomeStatus Status { get; init; }
    public string? ErrorCode { get; init; }
    public string? Message { get; init; }
}

[JsonConverter(typeof(StrictEnumConverter<OutcomeStatus>))]
public enum OutcomeStatus
{
    [JsonStringEnumMemberName("success")] Success,
    [JsonStringEnumMemberName("failure")] Failure,
    [JsonStringEnumMemberName("error")] Error,
}

/// <summary>Enums travel as their names only: an integer (or an undefined name) is a schema violation.</summary>
public sealed class StrictEnumConverter<TEnum>() : JsonStringEnumConverter<TEnum>(namingPolicy: null, allowIntegerValues: false)
    where TEnum : struct, Enum;
