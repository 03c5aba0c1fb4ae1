using System.Text.Json.Serialization;

namespace AuditPipeline.Contracts;

/// <summary>
/// A retention operation (contract <c>retention.v1</c>): a month sealed into the archive, a sealed
/// month dropped from the hot store, a legal hold created or released, a data subject shredded,
/// an expired month purged from the archive. All of them go to one
/// chain, <see cref="Stream"/>, so the history of what was kept and removed is itself
/// hash-chained, checkpointed and exportable.
/// </summary>
public sealed record RetentionRecorded
{
    public const string TypeName = "retention.v1";
    public const string Stream = "retention log";

    public required Guid EventId { get; init; }
    public required DateTimeOffset At { get; init; }
    public required RetentionAction Action { get; init; }
    /// <summary>The month (yyyy-MM) a seal or drop is about.</summary>
    public string? Month { get; init; }
    public Guid? HoldId { get; init; }
    /// <summary>What a hold covers: any of an agent, an owner, a time range (all given must match).</summary>
    public string? HoldAgent { get; init; }
    public string? HoldOwner { get; init; }
    public DateTimeOffset? HoldFrom { get; init; }
    public DateTimeOffset? HoldTo { get; init; }
    /// <summary>The person or system that did it.</summary>
    public required string Actor { get; init; }
    public string? Reason { get; init; }
    /// <summary>For seals and drops: the segment's manifest SHA-256, event count and checkpoint.</summary>
    public string? Detail { get; init; }
}

[JsonConverter(typeof(StrictEnumConverter<RetentionAction>))]
public enum RetentionAction
{
    [JsonStringEnumMemberName("sealed")] Sealed,
    [JsonStringEnumMemberName("dropped")] Dropped,
    [JsonStringEnumMemberName("hold_created")] HoldCreated,
    [JsonStringEnumMemberName("hold_released")] HoldReleased,
    /// <summary>A data subject's keys destroyed (crypto-shredding); Detail names the subject only by its reference.</summary>
    [JsonStringEnumMemberName("subject_shredded")] SubjectShredded,
    /// <summary>An archived month past the retention period removed from the archive, its chain hashes kept.</summary>
    [JsonStringEnumMemberName("purged")] Purged,
}
