using System.Text;
using Npgsql;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;

namespace AuditPipeline.Integrity.Store;

/// <summary>Which chains to verify: all agents or one, optionally only events recorded in [From, To).</summary>
public sealed record VerifyScope(string? StreamId = null, DateTimeOffset? From = null, DateTimeOffset? To = null);

/// <summary>The first point where an agent's chain stops being what was appended.</summary>
public sealed record ChainBreak(string StreamId, long Version, Guid? EventId, long? GlobalSeq, string Problem)
{
    public override string ToString() =>
        $"agent {StreamId}: version {Version}" +
        (EventId is { } id ? $", event {id}" : "") +
        (GlobalSeq is { } seq ? $", log position {seq}" : "") +
        $": {Problem}";
}

public sealed record VerifyReport(long EventsChecked, int StreamsChecked, IReadOnlyList<ChainBreak> Breaks)
{
    public bool Intact => Breaks.Count == 0;
}

/// <summary>
/// Recomputes every selected chain from the stored rows and compares each link, each hash and
/// each chain's end with its recorded head. Reports the first break of every broken chain.
/// </summary>
public sealed class ChainVerifier(NpgsqlDataSource dataSource)
{
    /// <param name="archived">
    /// Per chain, the hash at the end of each archived segment (sealed months): a chain whose stored
    /// events start after a dropped month must link to the archived hash just before them.
    /// </param>
    /// <param name="progress">Told the number of events checked so far, every 65,536 events.</param>
    public async Task<VerifyReport> VerifyAsync(VerifyScope scope, CancellationToken ct, IReadOnlyDictionary<string, Dictionary<long, byte[]>>? archived = null,
        IProgress<long>? progress = null)
    {
        _archived = archived ?? new Dictionary<string, Dictionary<long, byte[]>>();
        var wholeChains = scope.From is null && scope.To is null;
        // Without an upper bound the chains run to their heads, so the heads can be checked.
        var heads = scope.To is null ? await ReadHeadsAsync(scope.StreamId, ct) : [];
        var breaks = new List<ChainBreak>();
        long events = 0;
        var streams = 0;

        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand(StoreSql.ReadChain, conn);
        cmd.Parameters.Add(new NpgsqlParameter("stream", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)scope.StreamId ?? DBNull.Value });
        cmd.Parameters.AddWithValue("from", scope.From ?? DateTimeOffset.MinValue.AddYears(2000));
        cmd.Parameters.AddWithValue("to", scope.To ?? DateTimeOffset.MaxValue.AddYears(-1000));

        StreamState? state = null;
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                var row = new Row(
                    reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetGuid(3), reader.GetString(4),
                    reader.GetFieldValue<DateTimeOffset>(5), Encoding.UTF8.GetBytes(reader.GetString(6)),
                    reader.GetFieldValue<byte[]>(7), reader.GetFieldValue<byte[]>(8));
                if ((++events & 0xFFFF) == 0)
                {
                    progress?.Report(events);
                }
                if (state is null || state.StreamId != row.StreamId)
                {
                    Finish(state, heads, breaks);
                    state = await StartAsync(row, wholeChains, ct);
                    streams++;
                }
                Check(state, row, breaks);
            }
        }
        Finish(state, heads, breaks);

        // A head whose chain has no rows at all: every event of that agent was removed.
        foreach (var (streamId, head) in wholeChains ? heads : [])
        {
            if (_archived.TryGetValue(streamId, out var ends) && ends.TryGetValue(head.Version, out var end) && end.AsSpan().SequenceEqual(head.Hash))
            {
                continue; // the whole chain is in the archive, up to its head
            }
            breaks.Add(new ChainBreak(streamId, 1, null, null,
                $"no events stored, but the chain head records version {head.Version}: events were removed"));
        }
        return new VerifyReport(events, streams, breaks);
    }

    private sealed record Row(
        string StreamId, long Version, long GlobalSeq, Guid EventId, string EventType,
        DateTimeOffset RecordedAt, byte[] Payload, byte[] PrevHash, byte[] Hash);

    private sealed record Head(long Version, byte[] Hash);

    private sealed class StreamState(string streamId, long expectedVersion, byte[]? expectedPrevHash)
    {
        public string StreamId { get; } = streamId;
        public long ExpectedVersion { get; set; } = expectedVersion;
        public byte[]? ExpectedPrevHash { get; set; } = expectedPrevHash;
        public bool Broken { get; set; }
        public long LastVersion { get; set; }
        public byte[]? LastHash { get; set; }
    }

    private IReadOnlyDictionary<string, Dictionary<long, byte[]>> _archived = new Dictionary<string, Dictionary<long, byte[]>>();

    private async Task<StreamState> StartAsync(Row first, bool wholeChain, CancellationToken ct)
    {
        if (first.Version > 1 && _archived.TryGetValue(first.StreamId, out var ends) && ends.TryGetValue(first.Version - 1, out var anchor))
        {
            // The chain's earlier events are in the archive (a dropped month): link to where they end there.
            return new StreamState(first.StreamId, first.Version, anchor);
        }
        if (wholeChain || first.Version == 1)
        {
            return new StreamState(first.StreamId, 1, ChainHash.Genesis.ToArray());
        }
        // A range starts mid-chain: its first event must link to the stored event before it.
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand(StoreSql.ReadChainAnchor, conn);
        cmd.Parameters.AddWithValue("stream", first.StreamId);
        cmd.Parameters.AddWithValue("version", first.Version - 1);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct)
            ? new StreamState(first.StreamId, first.Version, reader.GetFieldValue<byte[]>(1))
            : new StreamState(first.StreamId, first.Version, null);
    }

    private static void Check(StreamState state, Row row, List<ChainBreak> breaks)
    {
        state.LastVersion = row.Version;
        state.LastHash = row.Hash;
        if (state.Broken)
        {
            return;
        }
        string? problem = null;
        if (row.Version != state.ExpectedVersion)
        {
            problem = row.Version > state.ExpectedVersion
                ? $"version {state.ExpectedVersion} is missing: the chain jumps to {row.Version} (an event was deleted)"
                : $"version {row.Version} appears again after {state.ExpectedVersion - 1} (an event was inserted or duplicated)";
        }
        else if (state.ExpectedPrevHash is null)
        {
            problem = $"the event before this range (version {row.Version - 1}) is missing";
        }
        else if (!row.PrevHash.AsSpan().SequenceEqual(state.ExpectedPrevHash))
        {
            problem = "prev_hash does not match the hash of the previous event (events were reordered, replaced or inserted)";
        }
        else if (!ChainHash.Compute(row.PrevHash, row.StreamId, row.Version, row.EventId, row.EventType, row.RecordedAt, row.Payload)
                     .AsSpan().SequenceEqual(row.Hash))
        {
            problem = "the stored hash does not match the event's contents (the event was edited)";
        }

        if (problem is not null)
        {
            state.Broken = true;
            breaks.Add(new ChainBreak(row.StreamId, row.Version, row.EventId, row.GlobalSeq, problem));
            return;
        }
        state.ExpectedVersion = row.Version + 1;
        state.ExpectedPrevHash = row.Hash;
    }

    private static void Finish(StreamState? state, Dictionary<string, Head> heads, List<ChainBreak> breaks)
    {
        if (state is null || !heads.Remove(state.StreamId, out var head) || state.Broken)
        {
            return;
        }
        if (head.Version != state.LastVersion || !head.Hash.AsSpan().SequenceEqual(state.LastHash))
        {
            breaks.Add(new ChainBreak(state.StreamId, state.LastVersion + 1, null, null,
                $"the chain ends at version {state.LastVersion} but its head records version {head.Version}: events were removed from the end or the head was altered"));
        }
    }

    private async Task<Dictionary<string, Head>> ReadHeadsAsync(string? streamId, CancellationToken ct)
    {
        var heads = new Dictionary<string, Head>(StringComparer.Ordinal);
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand(StoreSql.ReadAllStreamHeads, conn);
        cmd.Parameters.Add(new NpgsqlParameter("stream", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)streamId ?? DBNull.Value });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            heads[reader.GetString(0)] = new Head(reader.GetInt64(1), reader.GetFieldValue<byte[]>(2));
        }
        return heads;
    }
}
