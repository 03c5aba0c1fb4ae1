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
        string streamId, ExpectedVersion expected, IReadOnlyList<NewStreamEvent> events, CancellationToken ct) =>
        (await AppendToStreamsAsync([new StreamAppend(streamId, expected, events)], ct))[0];

    public async Task<IReadOnlyList<StreamAppendResult>> AppendToStreamsAsync(IReadOnlyList<StreamAppend> appends, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfZero(appends.Count);
        foreach (var append in appends)
        {
            ArgumentException.ThrowIfNullOrEmpty(append.StreamId);
        }
        if (appends.Select(a => a.StreamId).Distinct(StringComparer.Ordinal).Count() != appends.Count)
        {
            throw new ArgumentException("each stream may appear once per call", nameof(appends));
        }
        try
        {
            return await AppendToStreamsInTransactionAsync(appends, ct);
        }
        catch
        {
            _monthsWithPartitions.Clear();
            throw;
        }
    }

    private async Task<IReadOnlyList<StreamAppendResult>> AppendToStreamsInTransactionAsync(IReadOnlyList<StreamAppend> appends, CancellationToken ct)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);

        var nextSeq = await ScalarAsync<long>(conn, tx, StoreSql.LockLogHead, ct);
        var recordedAt = Timestamps.ToUtcMicroseconds(clock.GetUtcNow());

        var all = appends.SelectMany(a => a.Events.Select(e => (a.StreamId, Event: e))).ToList();
        var pending = all.Select((e, i) => new Pending(i, e.Event.EventId, e.StreamId, e.Event.EventType, e.Event.OccurredAt, e.Event.Payload)).ToList();
        var (fresh, duplicates, refused) = await SeparateDuplicatesAsync(conn, tx, pending, ct);
        if (refused.Count > 0)
        {
            // Not quarantined: there is no message to keep, and the caller must know now.
            throw new EventIdConflictException(all[refused[0].Index].Event.EventId);
        }

        var heads = await ReadHeadsAsync(conn, tx, [.. appends.Select(a => new Pending(0, Guid.Empty, a.StreamId, "", default, []))], ct);
        var results = new List<StreamAppendResult>(appends.Count);
        var written = 0;
        foreach (var append in appends)
        {
            var actual = heads.TryGetValue(append.StreamId, out var stored) ? stored.Version : 0;
            var appended = fresh.Count(e => e.StreamId == append.StreamId);
            var dropped = pending.Count(e => e.StreamId == append.StreamId) - appended;
            // A retry of an append that did commit finds only its own events: it succeeded, whatever it expected.
            if (appended > 0 && !append.Expected.Allows(actual))
            {
                throw new WrongExpectedVersionException(append.StreamId, append.Expected, actual);
            }
            written += appended;
            results.Add(new StreamAppendResult(append.StreamId, actual + appended, appended, dropped, default));
        }

        var head = await WriteRowsAsync(conn, tx, fresh, heads, nextSeq, recordedAt, ct);
        await tx.CommitAsync(ct);
        return [.. results.Select(r => r with { Head = head })];
    }
}
