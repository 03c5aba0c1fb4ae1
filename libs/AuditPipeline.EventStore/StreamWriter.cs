namespace AuditPipeline.EventStore;

/// <summary>
/// The version a stream must be at for an append to go ahead (versions are 1-based, so a stream
/// without events is at 0). <see cref="Any"/> skips the check: for logs written by one writer
/// (detector output, API call records, the retention log), never for an aggregate that was read first.
/// </summary>
public readonly record struct ExpectedVersion(long Value)
{
    public static readonly ExpectedVersion Any = new(-1);
    public static readonly ExpectedVersion NoStream = new(0);

    public static ExpectedVersion Exactly(long version) =>
        version >= 0 ? new(version) : throw new ArgumentOutOfRangeException(nameof(version), version, "a stream version is 0 or more");

    public bool Allows(long actual) => Value < 0 || Value == actual;

    public override string ToString() => Value < 0 ? "any" : Value == 0 ? "no stream" : $"version {Value}";
}

/// <summary>An event written by the system itself (not read from Kafka): it has no source position.</summary>
public sealed record NewStreamEvent(Guid EventId, string EventType, DateTimeOffset OccurredAt, byte[] Payload);

/// <summary>
/// What a stream append did. <see cref="Version"/> is the stream's version after it (what the next
/// append of this writer should expect); <see cref="Duplicates"/> events were already stored with
/// the same bytes and were dropped.
/// </summary>
public sealed record StreamAppendResult(string StreamId, long Version, int Appended, int Duplicates, LogPosition Head);

/// <summary>The stream was not at the expected version: someone else appended first. Nothing was written.</summary>
public sealed class WrongExpectedVersionException(string streamId, ExpectedVersion expected, long actual)
    : Exception($"stream \"{streamId}\" is at version {actual}, not the expected {expected}: it changed since it was read")
{
    public string StreamId { get; } = streamId;
    public ExpectedVersion Expected { get; } = expected;
    public long Actual { get; } = actual;
}

/// <summary>An event id was already stored with other bytes: a bug in the writer, never a redelivery. Nothing was written.</summary>
public sealed class EventIdConflictException(Guid eventId)
    : Exception($"event id {eventId} is already stored with different content")
{
    public Guid EventId { get; } = eventId;
}

/// <summary>
/// The write interface for the system's own streams (incidents, scope changes, the retention log,
/// API call records): one stream, an expected version, events in; a result out. Chained and
/// deduplicated by event id exactly like ingest; the expected version is checked in the append
/// transaction, under the log head's lock, so two writers that read the same version cannot both append.
/// </summary>
public interface IStreamWriter
{
    /// <exception cref="WrongExpectedVersionException">the stream is at another version (nothing written)</exception>
    /// <exception cref="EventIdConflictException">an event id is stored with other bytes (nothing written)</exception>
    Task<StreamAppendResult> AppendToStreamAsync(string streamId, ExpectedVersion expected, IReadOnlyList<NewStreamEvent> events, CancellationToken ct);

    /// <summary>
    /// Several streams in one transaction (a batch of API call records, one stream per principal): all
    /// are written or none. Each stream appears once; its expected version is checked as above.
    /// </summary>
    /// <exception cref="WrongExpectedVersionException">a stream is at another version (nothing written)</exception>
    /// <exception cref="EventIdConflictException">an event id is stored with other bytes (nothing written)</exception>
    Task<IReadOnlyList<StreamAppendResult>> AppendToStreamsAsync(IReadOnlyList<StreamAppend> appends, CancellationToken ct);
}

/// <summary>Events for one stream, and the version it must be at.</summary>
public sealed record StreamAppend(string StreamId, ExpectedVersion Expected, IReadOnlyList<NewStreamEvent> Events);
