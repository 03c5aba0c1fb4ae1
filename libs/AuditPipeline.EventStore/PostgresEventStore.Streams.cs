using AuditPipeline.Contracts;
using Npgsql;

namespace AuditPipeline.EventStore;

/// <summary>
/// The store's writer for the system's own streams: the same transaction as ingest (log head lock,
/// dedupe, chaining, audit.append_commit's checks) with an expected version instead of Kafka
/// positions. The check runs under the log head's lock, which every append takes first (ingest,
/// this path and audit.append_internal), so the version read here cannot move before commit.
/// </summary>
public sealed partial class PostgresEventStore
{
    public async Task<StreamAppendResult> AppendToStreamAsync(
        string streamId, ExpectedVersion expected, IReadOnlyList<NewStreamEvent> events, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        try
        {
            return await AppendToStreamInTransactionAsync(streamId, expected, events, ct);
        }
        catch
        {
            _monthsWithPartitions.Clear();
            throw;
        }
    }

    private async Task<StreamAppendResult> AppendToStreamInTransactionAsync(
        string streamId, ExpectedVersion expected, IReadOnlyList<NewStreamEvent> events, CancellationToken ct)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);

        var nextSeq = await ScalarAsync<long>(conn, tx, StoreSql.LockLogHead, ct);
        var recordedAt = Timestamps.ToUtcMicroseconds(clock.GetUtcNow());

        var pending = events.Select((e, i) => new Pending(i, e.EventId, streamId, e.EventType, e.OccurredAt, e.Payload)).ToList();
        var (fresh, duplicates, refused) = await SeparateDuplicatesAsync(conn, tx, pending, ct);
        if (refused.Count > 0)
        {
            // Not quarantined: there is no message to keep, and the caller must know now.
            throw new EventIdConflictException(events[refused[0].Index].EventId);
        }

        var heads = await ReadHeadsAsync(conn, tx, [new Pending(0, Guid.Empty, streamId, "", default, [])], ct);
        var actual = heads.TryGetValue(streamId, out var stored) ? stored.Version : 0;
        // A retry of an append that did commit finds only its own events: it succeeded, whatever it expected.
        if (fresh.Count == 0)
        {
            await tx.CommitAsync(ct);
            return new StreamAppendResult(streamId, actual, 0, duplicates, new LogPosition(nextSeq - 1));
        }
        if (!expected.Allows(actual))
        {
            throw new WrongExpectedVersionException(streamId, expected, actual);
        }

        var head = await WriteRowsAsync(conn, tx, fresh, heads, nextSeq, recordedAt, ct);
        await tx.CommitAsync(ct);
        return new StreamAppendResult(streamId, actual + fresh.Count, fresh.Count, duplicates, head);
    }
}
