using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using AuditPipeline.Contracts;
using AuditPipeline.Contracts.Validation;
using Npgsql;
using NpgsqlTypes;

namespace AuditPipeline.EventStore;

/// <summary>
/// The PostgreSQL event store's append path. One transaction per batch: lock the log head,
/// drop duplicates, chain each agent's new events from its stored head, binary-COPY the rows, let
/// <c>audit.append_commit</c> check them and advance the heads, record quarantine entries, commit.
/// </summary>
public sealed partial class PostgresEventStore(NpgsqlDataSource dataSource, TimeProvider clock, int quarantineMaxRawBytes = 64 * 1024) : IEventStore, IStreamWriter
{
    /// <summary>An event on its way into the log, whichever writer it came from; Index points back into the caller's list.</summary>
    private sealed record Pending(int Index, Guid EventId, string StreamId, string EventType, DateTimeOffset OccurredAt, byte[] Payload);

    private readonly ConcurrentDictionary<(int Year, int Month), bool> _monthsWithPartitions = new();

    public async Task<AppendResult> AppendAsync(
        IReadOnlyList<IncomingEvent> events, IReadOnlyList<QuarantineEntry> rejects, CancellationToken ct)
    {
        if (events.Count == 0 && rejects.Count == 0)
        {
            return new AppendResult(0, 0, [], LogPosition.None);
        }

        try
        {
            return await AppendInTransactionAsync(events, rejects, ct);
        }
        catch
        {
            // A rolled-back append may have created a partition that no longer exists.
            _monthsWithPartitions.Clear();
            throw;
        }
    }

    private async Task<AppendResult> AppendInTransactionAsync(
        IReadOnlyList<IncomingEvent> events, IReadOnlyList<QuarantineEntry> rejects, CancellationToken ct)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);

        var nextSeq = await ScalarAsync<long>(conn, tx, StoreSql.LockLogHead, ct);
        // Taken after the lock so recorded_at follows the commit order of appends.
        var recordedAt = Timestamps.ToUtcMicroseconds(clock.GetUtcNow());

        var pending = events.Select((e, i) => new Pending(i, e.EventId, e.StreamId, e.EventType, e.OccurredAt, e.Payload)).ToList();
        var (fresh, duplicates, refused) = await SeparateDuplicatesAsync(conn, tx, pending, ct);
        var conflicts = refused.Select(r => new QuarantineEntry(events[r.Index].Source, r.Rejection)).ToList();
        var allRejects = conflicts.Count == 0 ? rejects : [.. rejects, .. conflicts];

        var heads = fresh.Count > 0 ? await ReadHeadsAsync(conn, tx, fresh, ct) : [];
        var head = await WriteRowsAsync(conn, tx, fresh, heads, nextSeq, recordedAt, ct);
        if (allRejects.Count > 0)
        {
            await InsertQuarantineAsync(conn, tx, allRejects, recordedAt, ct);
        }

        await tx.CommitAsync(ct);
        return new AppendResult(fresh.Count, duplicates, conflicts, head);
    }

    /// <summary>Chains and copies the fresh events, then lets audit.append_commit check them; returns the new log head.</summary>
    private async Task<LogPosition> WriteRowsAsync(NpgsqlConnection conn, NpgsqlTransaction tx, List<Pending> fresh,
        Dictionary<string, StreamHead> heads, long nextSeq, DateTimeOffset recordedAt, CancellationToken ct)
    {
        if (fresh.Count == 0)
        {
            return new LogPosition(nextSeq - 1);
        }
        await EnsurePartitionAsync(conn, tx, recordedAt, ct);
        var rows = Chain(fresh, heads, nextSeq, recordedAt);
        await CopyEventsAsync(conn, rows, recordedAt, ct);
        await CopyEventIdsAsync(conn, rows, ct);
        // The database checks the rows (dense, allowed for this role, each continuing its chain)
        // and only then moves the chain heads and the log head: no service role can move them itself.
        await using var commit = new NpgsqlCommand(StoreSql.AppendCommit, conn, tx);
        commit.Parameters.AddWithValue("first", nextSeq);
        commit.Parameters.AddWithValue("next", nextSeq + rows.Count);
        commit.Parameters.AddWithValue("recorded_at", recordedAt);
        await commit.ExecuteNonQueryAsync(ct);
        return new LogPosition(nextSeq + rows.Count - 1);
    }

    /// <summary>
    /// First occurrence of an id wins, within the batch and against the store. A repeat with the
    /// same canonical bytes is a redelivery (dropped); with different bytes it is a conflict. An id
    /// whose month left the hot store is compared with the digest the drop kept; it is never
    /// inserted again (the id table would refuse it and stop the batch).
    /// </summary>
    private static async Task<(List<Pending> Fresh, int Duplicates, List<(int Index, Rejection Rejection)> Conflicts)> SeparateDuplicatesAsync(
        NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<Pending> events, CancellationToken ct)
    {
        var fresh = new List<Pending>(events.Count);
        var conflicts = new List<(int, Rejection)>();
        var duplicates = 0;
        if (events.Count == 0)
        {
            return (fresh, duplicates, conflicts);
        }

        var stored = new Dictionary<Guid, long>();
        var droppedDigests = new Dictionary<Guid, byte[]>();
        await using (var cmd = new NpgsqlCommand(StoreSql.FindEventIds, conn, tx))
        {
            cmd.Parameters.AddWithValue("ids", events.Select(e => e.EventId).Distinct().ToArray());
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                stored[reader.GetGuid(0)] = reader.GetInt64(1);
                if (!reader.IsDBNull(2))
                {
                    droppedDigests[reader.GetGuid(0)] = reader.GetFieldValue<byte[]>(2);
                }
            }
        }
        var storedPayloads = stored.Count == 0 ? [] : await ReadPayloadsAsync(conn, tx, stored, ct);

        var seenInBatch = new Dictionary<Guid, Pending>();
        foreach (var e in events)
        {
            var verdict = storedPayloads.TryGetValue(e.EventId, out var p) ? Compare(p, e.Payload)
                : seenInBatch.TryGetValue(e.EventId, out var earlier) ? Compare(earlier.Payload, e.Payload)
                : droppedDigests.TryGetValue(e.EventId, out var digest) ? (SHA256.HashData(e.Payload).AsSpan().SequenceEqual(digest) ? Repeat.Same : Repeat.Different)
                : stored.ContainsKey(e.EventId) ? Repeat.Incomparable
                : Repeat.New;
            switch (verdict)
            {
                case Repeat.New:
                    seenInBatch[e.EventId] = e;
                    fresh.Add(e);
                    break;
                case Repeat.Same:
                    duplicates++;
                    break;
                case Repeat.Different:
                    conflicts.Add((e.Index, new Rejection(
                        RejectCodes.ConflictingDuplicate,
                        $"Event id {e.EventId} was already stored with different content; the first version is kept.",
                        e.EventId)));
                    break;
                default:
                    conflicts.Add((e.Index, new Rejection(
                        RejectCodes.ArchivedDuplicate,
                        $"Event id {e.EventId} is already stored at position {stored[e.EventId]}, in a month dropped from the hot store before "
                        + "digests were kept; it is not stored again. Compare it with the archive segment (auditctl archive list).",
                        e.EventId)));
                    break;
            }
        }
        return (fresh, duplicates, conflicts);
    }

    private enum Repeat { New, Same, Different, Incomparable }

    private static Repeat Compare(byte[] first, byte[] again) => first.AsSpan().SequenceEqual(again) ? Repeat.Same : Repeat.Different;

    private static async Task<Dictionary<Guid, byte[]>> ReadPayloadsAsync(
        NpgsqlConnection conn, NpgsqlTransaction tx, Dictionary<Guid, long> stored, CancellationToken ct)
    {
        var idBySeq = stored.ToDictionary(kv => kv.Value, kv => kv.Key);
        var payloads = new Dictionary<Guid, byte[]>();
        await using var cmd = new NpgsqlCommand(StoreSql.ReadPayloadsBySeq, conn, tx);
        cmd.Parameters.AddWithValue("seqs", idBySeq.Keys.ToArray());
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            payloads[idBySeq[reader.GetInt64(0)]] = Encoding.UTF8.GetBytes(reader.GetString(1));
        }
        return payloads;
    }

    private async Task EnsurePartitionAsync(NpgsqlConnection conn, NpgsqlTransaction tx, DateTimeOffset at, CancellationToken ct)
    {
        var month = (at.Year, at.Month);
        if (_monthsWithPartitions.ContainsKey(month))
        {
            return;
        }
        await using var cmd = new NpgsqlCommand(StoreSql.EnsurePartitions, conn, tx);
        cmd.Parameters.AddWithValue("at", at);
        await cmd.ExecuteScalarAsync(ct);
        _monthsWithPartitions[month] = true;
    }

    private sealed record StreamHead(long Version, byte[] Hash);

    private static async Task<Dictionary<string, StreamHead>> ReadHeadsAsync(
        NpgsqlConnection conn, NpgsqlTransaction tx, List<Pending> fresh, CancellationToken ct)
    {
        var heads = new Dictionary<string, StreamHead>(StringComparer.Ordinal);
        await using var cmd = new NpgsqlCommand(StoreSql.ReadStreamHeads, conn, tx);
        cmd.Parameters.AddWithValue("streams", fresh.Select(e => e.StreamId).Distinct(StringComparer.Ordinal).ToArray());
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            heads[reader.GetString(0)] = new StreamHead(reader.GetInt64(1), reader.GetFieldValue<byte[]>(2));
        }
        return heads;
    }

    private sealed record ChainedRow(Pending Event, long GlobalSeq, long Version, byte[] PrevHash, byte[] Hash);

    private static List<ChainedRow> Chain(
        List<Pending> fresh, Dictionary<string, StreamHead> storedHeads, long firstSeq, DateTimeOffset recordedAt)
    {
        var rows = new List<ChainedRow>(fresh.Count);
        var tips = new Dictionary<string, StreamHead>(storedHeads, StringComparer.Ordinal);
        var seq = firstSeq;
        foreach (var e in fresh)
        {
            var (prevVersion, prevHash) = tips.TryGetValue(e.StreamId, out var tip)
                ? (tip.Version, tip.Hash)
                : (0L, ChainHash.Genesis.ToArray());
            var version = prevVersion + 1;
            var hash = ChainHash.Compute(prevHash, e.StreamId, version, e.EventId, e.EventType, recordedAt, e.Payload);
            rows.Add(new ChainedRow(e, seq++, version, prevHash, hash));
            tips[e.StreamId] = new StreamHead(version, hash);
        }
        return rows;
    }

    private static async Task CopyEventsAsync(NpgsqlConnection conn, List<ChainedRow> rows, DateTimeOffset recordedAt, CancellationToken ct)
    {
        await using var importer = await conn.BeginBinaryImportAsync(StoreSql.CopyEvents, ct);
        foreach (var row in rows)
        {
            await importer.StartRowAsync(ct);
            await importer.WriteAsync(row.GlobalSeq, NpgsqlDbType.Bigint, ct);
            await importer.WriteAsync(row.Event.StreamId, NpgsqlDbType.Text, ct);
            await importer.WriteAsync(row.Version, NpgsqlDbType.Bigint, ct);
            await importer.WriteAsync(row.Event.EventId, NpgsqlDbType.Uuid, ct);
            await importer.WriteAsync(row.Event.EventType, NpgsqlDbType.Text, ct);
            await importer.WriteAsync(row.Event.OccurredAt, NpgsqlDbType.TimestampTz, ct);
            await importer.WriteAsync(recordedAt, NpgsqlDbType.TimestampTz, ct);
            await importer.WriteAsync(row.Event.Payload, NpgsqlDbType.Json, ct); // UTF-8 bytes as they are: no re-encoding
            await importer.WriteAsync(row.PrevHash, NpgsqlDbType.Bytea, ct);
            await importer.WriteAsync(row.Hash, NpgsqlDbType.Bytea, ct);
        }
        await importer.CompleteAsync(ct);
    }

    private static async Task CopyEventIdsAsync(NpgsqlConnection conn, List<ChainedRow> rows, CancellationToken ct)
    {
        await using var importer = await conn.BeginBinaryImportAsync(StoreSql.CopyEventIds, ct);
        foreach (var row in rows)
        {
            await importer.StartRowAsync(ct);
            await importer.WriteAsync(row.Event.EventId, NpgsqlDbType.Uuid, ct);
            await importer.WriteAsync(row.GlobalSeq, NpgsqlDbType.Bigint, ct);
        }
        await importer.CompleteAsync(ct);
    }

    private async Task InsertQuarantineAsync(
        NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<QuarantineEntry> entries, DateTimeOffset now, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(StoreSql.InsertQuarantine, conn, tx);
        cmd.Parameters.AddWithValue("now", now);
        cmd.Parameters.AddWithValue("topics", entries.Select(q => q.Source.Position.Topic).ToArray());
        cmd.Parameters.AddWithValue("partitions", entries.Select(q => q.Source.Position.Partition).ToArray());
        cmd.Parameters.AddWithValue("offsets", entries.Select(q => q.Source.Position.Offset).ToArray());
        cmd.Parameters.AddWithValue("codes", entries.Select(q => q.Rejection.Code).ToArray());
        cmd.Parameters.AddWithValue("reasons", entries.Select(q => q.Rejection.Reason).ToArray());
        cmd.Parameters.Add(new NpgsqlParameter("event_ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid)
        {
            Value = entries.Select(q => q.Rejection.EventId is { } id ? (object)id : DBNull.Value).ToArray(),
        });
        cmd.Parameters.Add(new NpgsqlParameter("keys", NpgsqlDbType.Array | NpgsqlDbType.Bytea)
        {
            Value = entries.Select(q => BoundedRaw.Key(q.Source.Key) is { } k ? (object)k : DBNull.Value).ToArray(),
        });
        cmd.Parameters.AddWithValue("sizes", entries.Select(q => q.Source.Value.Length).ToArray());
        cmd.Parameters.AddWithValue("shas", entries.Select(q => SHA256.HashData(q.Source.Value)).ToArray());
        var kept = entries.Select(q => BoundedRaw.Bound(q.Source.Value, quarantineMaxRawBytes)).ToList();
        cmd.Parameters.AddWithValue("truncated", kept.Select(k => k.Truncated).ToArray());
        cmd.Parameters.AddWithValue("raws", kept.Select(k => k.Kept).ToArray());
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection conn, NpgsqlTransaction tx, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, conn, tx);
        var value = await cmd.ExecuteScalarAsync(ct);
        return value is T typed ? typed : throw new InvalidOperationException($"Unexpected result from: {sql.Trim()}");
    }
}
