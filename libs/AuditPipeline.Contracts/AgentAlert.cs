using System.Text.Json.Serialization;

namespace AuditPipeline.Contracts;

/// <summary>
/// One change in the life of an alert incident (contract <c>agent-alert.v1</c>): opened by a
/// detector, escalated while it lasts, recovered when the behaviour stops, acknowledged or
/// resolved by a person. Stored in the event store (stream <see cref="StreamOf"/>, one chain per
/// incident) so alerts are audited like actions, and published to <c>agent-alerts</c> and webhooks.
/// </summary>
public sealed record AgentAlert
{
    public const string TypeName = "agent-alert.v1";

    /// <summary>Deterministic per (incident, change): a replay after a crash produces the same id, which the store deduplicates.</summary>
    public required Guid EventId { get; init; }
    public required Guid IncidentId { get; init; }
    public required AlertChange Change { get; init; }
    /// <summary>The agent the incident is about (for an owner-level budget: the agent that last pushed it).</summary>
    public required string AgentId { get; init; }
    public string? Owner { get; init; }
    /// <summary>Set when the incident is about an owner's combined budget rather than one agent.</summary>
    public string? SubjectOwner { get; init; }
    public required AlertSeverity Severity { get; init; }
    /// <summary>Detector groups that contributed: volume, denials, cost, resources, ownership.</summary>
    public required IReadOnlyList<string> Categories { get; init; }
    public required string Title { get; init; }
    public required string Summary { get; init; }
    /// <summary>Event time of the first anomalous bucket.</summary>
    public required DateTimeOffset StartedAt { get; init; }
    /// <summary>Event time this change refers to (bucket end for detector changes, the request time for people).</summary>
    public required DateTimeOffset At { get; init; }
    /// <summary>Who acknowledged or resolved (absent for detector changes).</summary>
    public string? Actor { get; init; }
    public string? Note { get; init; }
    public IReadOnlyList<AlertEvidence> Evidence { get; init; } = [];

    /// <summary>Stream of an incident: agent ids cannot contain spaces, so this never collides with an agent's chain.</summary>
    public static string StreamOf(Guid incidentId) => $"alert {incidentId}";
}

[JsonConverter(typeof(StrictEnumConverter<AlertChange>))]
public enum AlertChange
{
    [JsonStringEnumMemberName("opened")] Opened,
    [JsonStringEnumMemberName("escalated")] Escalated,
    [JsonStringEnumMemberName("recovered")] Recovered,
    [JsonStringEnumMemberName("acknowledged")] Acknowledged,
    [JsonStringEnumMemberName("resolved")] Resolved,
}

[JsonConverter(typeof(StrictEnumConverter<AlertSeverity>))]
public enum AlertSeverity
{
    [JsonStringEnumMemberName("low")] Low,
    [JsonStringEnumMemberName("medium")] Medium,
    [JsonStringEnumMemberName("high")] High,
    [JsonStringEnumMemberName("critical")] Critical,
}

/// <summary>Why a detector fired: enough to explain the alert without re-running anything.</summary>
public sealed record AlertEvidence
{
    /// <summary>Detector name, e.g. volume.iid, resources.first_seen, cost.burn.</summary>
    public required string Detector { get; init; }
    public required string Explanation { get; init; }
    public IReadOnlyDictionary<string, double> Parameters { get; init; } = new Dictionary<string, double>();
    /// <summary>Start of the first bucket in <see cref="Observed"/>; buckets are one minute.</summary>
    public required DateTimeOffset WindowStart { get; init; }
    public IReadOnlyList<double> Observed { get; init; } = [];
    public IReadOnlyList<double> Baseline { get; init; } = [];
    /// <summary>In [0, 1]; higher is more anomalous.</summary>
    public required double Score { get; init; }
    public IReadOnlyList<Guid> EventIds { get; init; } = [];
    /// <summary>Resources behind a resource finding (first-seen, rare).</summary>
    public IReadOnlyList<string> Resources { get; init; } = [];
}
