namespace AuditPipeline.Contracts;

/// <summary>An event as stored, with its position in the log and in its agent's chain.</summary>
public sealed record StoredEvent(
    long GlobalSeq, string StreamId, long Version, Guid EventId, string EventType,
    DateTimeOffset OccurredAt, DateTimeOffset RecordedAt, byte[] Payload, byte[] PrevHash, byte[] Hash);
