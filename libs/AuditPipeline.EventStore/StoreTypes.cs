using AuditPipeline.Contracts.Validation;

namespace AuditPipeline.EventStore;

/// <summary>Where a message came from: the Kafka topic, partition and offset.</summary>
public readonly record struct SourcePosition(string Topic, int Partition, long Offset)
{
    public override string ToString() => $"{Topic}[{Partition}]@{Offset}";
}

/// <summary>The raw message as received, kept for quarantine evidence.</summary>
public sealed record SourceMessage(SourcePosition Position, byte[]? Key, byte[] Value);

/// <summary>A validated event waiting to be appended to its agent's chain.</summary>
public sealed record IncomingEvent(
    Guid EventId, string StreamId, string EventType, DateTimeOffset OccurredAt, byte[] Payload, SourceMessage Source);

/// <summary>A message that will not be stored as an event, and why.</summary>
public sealed record QuarantineEntry(SourceMessage Source, Rejection Rejection);

/// <summary>The dense, commit-ordered position of an event in the whole log (1-based).</summary>
public readonly record struct LogPosition(long Value)
{
    public static readonly LogPosition None = new(0);
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>What one append did. Conflicts are events whose id was already stored with other content.</summary>
public sealed record AppendResult(
    int Appended, int Duplicates, IReadOnlyList<QuarantineEntry> Conflicts, LogPosition Head);

/// <summary>The one write interface of the event store.</summary>
public interface IEventStore
{
    /// <summary>
    /// Appends the events (deduplicated by event id, chained per agent, in the order given)
    /// and records the quarantine entries, all in one transaction.
    /// </summary>
    Task<AppendResult> AppendAsync(IReadOnlyList<IncomingEvent> events, IReadOnlyList<QuarantineEntry> rejects, CancellationToken ct);
}

/// <summary>
/// How much of a refused message is kept (quarantine row, dead-letter copy): at most the quarantine
/// limit of the value and 1 KiB of the key; the original's size and SHA-256 always travel with it.
/// </summary>
public static class BoundedRaw
{
    public const int MaxKeyBytes = 1024;

    public static (byte[] Kept, bool Truncated) Bound(byte[] bytes, int max) =>
        bytes.Length > max ? (bytes[..max], true) : (bytes, false);

    public static byte[]? Key(byte[]? key) => key is null ? null : Bound(key, MaxKeyBytes).Kept;
}
