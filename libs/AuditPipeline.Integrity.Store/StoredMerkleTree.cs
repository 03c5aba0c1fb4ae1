using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity;
using Npgsql;
using NpgsqlTypes;

namespace AuditPipeline.Integrity.Store;

/// <summary>
/// The Merkle tree over the event store. Leaf i is the event at log position i + 1. Perfect
/// subtrees of 2^8 leaves and more come from <c>audit.merkle_nodes</c> (kept by the tree
/// projection); smaller ones, and any beyond what the projection has reached, are rebuilt from the
/// events' chain hashes. Roots and proofs are computed by <see cref="MerkleProofBuilder"/>: a first
/// pass records which nodes it needs, they are fetched in one go, a second pass computes.
/// </summary>
public sealed class StoredMerkleTree(NpgsqlDataSource dataSource)
{
    /// <summary>Lowest level kept in the database: a node below it costs at most 255 leaf reads.</summary>
    public const int StoredFromLevel = 8;

    public static byte[] LeafHash(long position, ReadOnlySpan<byte> chainHash) => MerkleTree.LeafHashOf(position, chainHash);

    public async Task<long> LogSizeAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(IntegritySql.ReadLogSize);
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Leaves covered by stored nodes: how far the tree projection has come (a multiple of 256).</summary>
    public async Task<long> CoveredSizeAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(IntegritySql.MerkleCoveredSize);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
    }

    public Task<byte[]> RootAsync(long size, CancellationToken ct) =>
        RunAsync(size, node => MerkleProofBuilder.Root(size, node), ct);

    /// <summary>Inclusion proof of leaf <paramref name="index"/> (log position index + 1) in the tree of <paramref name="size"/>.</summary>
    public Task<List<byte[]>> InclusionProofAsync(long index, long size, CancellationToken ct) =>
        RunAsync(size, node => MerkleProofBuilder.InclusionProof(index, size, node), ct);

    public Task<List<byte[]>> ConsistencyProofAsync(long oldSize, long newSize, CancellationToken ct) =>
        RunAsync(newSize, node => MerkleProofBuilder.ConsistencyProof(oldSize, newSize, node), ct);

    /// <summary>The log position, chain hash and chain of an event, or null if it is not stored.</summary>
    public async Task<(long Position, byte[] ChainHash, string StreamId)?> FindEventAsync(Guid eventId, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(IntegritySql.EventPosition);
        cmd.Parameters.AddWithValue("event_id", eventId);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.GetInt64(0), reader.GetFieldValue<byte[]>(1), reader.GetString(2)) : null;
    }

    private async Task<T> RunAsync<T>(long size, Func<Func<int, long, byte[]>, T> algorithm, CancellationToken ct)
    {
        var logSize = await LogSizeAsync(ct);
        if (size > logSize)
        {
            throw new ArgumentOutOfRangeException(nameof(size), $"the log holds {logSize} events; asked for a tree of {size}");
        }
        var wanted = new HashSet<(int, long)>();
        var placeholder = new byte[32];
        algorithm((level, index) =>
        {
            wanted.Add((level, index));
            return placeholder;
        });
        var nodes = await NodesAsync(wanted, ct);
        return algorithm((level, index) => nodes[(level, index)]);
    }

    /// <summary>Hashes of perfect subtrees, from stored nodes where the projection has them, else from the leaves.</summary>
    public async Task<Dictionary<(int Level, long Index), byte[]>> NodesAsync(IReadOnlyCollection<(int Level, long Index)> wanted, CancellationToken ct)
    {
        var covered = await CoveredSizeAsync(ct);
        var result = new Dictionary<(int, long), byte[]>();
        var stored = wanted.Where(n => n.Level >= StoredFromLevel && (n.Index + 1) << n.Level <= covered).ToList();
        if (stored.Count > 0)
        {
            await using var cmd = dataSource.CreateCommand(IntegritySql.MerkleReadNodes);
            cmd.Parameters.Add(new NpgsqlParameter("levels", NpgsqlDbType.Array | NpgsqlDbType.Smallint) { Value = stored.Select(n => (short)n.Level).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter("indexes", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = stored.Select(n => n.Index).ToArray() });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                result[(reader.GetInt16(0), reader.GetInt64(1))] = reader.GetFieldValue<byte[]>(2);
            }
        }
        // Nodes below the stored level are rebuilt from the leaves of their 256-leaf block, one
        // read per block; nodes past the projection (and, never in normal operation, stored nodes
        // that are missing) from all their leaves.
        var missing = wanted.Where(n => !result.ContainsKey(n)).ToList();
        var blocks = missing.Where(n => n.Level < StoredFromLevel)
            .GroupBy(n => (n.Index << n.Level) >> StoredFromLevel)
            .Select(g => (First: g.Key << StoredFromLevel, End: g.Max(n => (n.Index + 1) << n.Level), Nodes: g.ToList()))
            .ToList();
        for (var at = 0; at < blocks.Count; at += 2000)
        {
            var chunk = blocks.Skip(at).Take(2000).ToList();
            var leaves = await ReadLeafRangesAsync(chunk.Select(b => (b.First + 1, b.End)).ToList(), ct);
            foreach (var (first, _, nodes) in chunk)
            {
                var tree = new MerkleTree();
                foreach (var (position, chainHash) in leaves[first + 1])
                {
                    tree.Append(LeafHash(position, chainHash));
                }
                foreach (var (level, index) in nodes)
                {
                    result[(level, index)] = tree.Node(level, index - (first >> level));
                }
            }
        }
        foreach (var (level, index) in missing.Where(n => n.Level >= StoredFromLevel))
        {
            var range = new CompactRange();
            await foreach (var (position, chainHash) in ReadLeavesAsync(dataSource, (index << level) + 1, (index + 1) << level, ct))
            {
                range.AppendLeaf(LeafHash(position, chainHash));
            }
            result[(level, index)] = range.Root();
        }
        return result;
    }

    /// <summary>Leaves of several position ranges (first..last each) in one query, checked for holes.</summary>
    private async Task<Dictionary<long, List<(long Position, byte[] ChainHash)>>> ReadLeafRangesAsync(List<(long First, long Last)> ranges, CancellationToken ct)
    {
        var result = ranges.ToDictionary(r => r.First, _ => new List<(long Position, byte[] ChainHash)>());
        await using var cmd = dataSource.CreateCommand(IntegritySql.MerkleReadLeafRanges);
        cmd.Parameters.Add(new NpgsqlParameter("firsts", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = ranges.Select(r => r.First).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter("lasts", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = ranges.Select(r => r.Last).ToArray() });
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                result[reader.GetInt64(0)].Add((reader.GetInt64(1), reader.GetFieldValue<byte[]>(2)));
            }
        }
        foreach (var (first, last) in ranges)
        {
            var leaves = result[first];
            for (var i = 0; i <= last - first; i++)
            {
                if (i >= leaves.Count || leaves[i].Position != first + i)
                {
                    throw new InvalidOperationException($"the log has no event at position {first + i}; run auditctl verify");
                }
            }
        }
        return result;
    }

    /// <summary>The leaves of first..last that the store holds (events and retained leaves), in order, holes skipped.</summary>
    public static async IAsyncEnumerable<(long Position, byte[] ChainHash)> ReadAvailableLeavesAsync(
        NpgsqlDataSource dataSource, long first, long last, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        const long chunk = 100_000;
        for (var from = first; from <= last; from += chunk)
        {
            await using var cmd = dataSource.CreateCommand(IntegritySql.MerkleReadLeaves);
            cmd.Parameters.AddWithValue("first", from);
            cmd.Parameters.AddWithValue("last", Math.Min(last, from + chunk - 1));
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                yield return (reader.GetInt64(0), reader.GetFieldValue<byte[]>(1));
            }
        }
    }

    /// <summary>Chain hashes of log positions first..last in order; a hole in the positions is an error, never skipped.</summary>
    public static async IAsyncEnumerable<(long Position, byte[] ChainHash)> ReadLeavesAsync(
        NpgsqlDataSource dataSource, long first, long last, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var expected = first;
        await foreach (var leaf in ReadAvailableLeavesAsync(dataSource, first, last, ct))
        {
            if (leaf.Position != expected)
            {
                throw new InvalidOperationException($"the log has no event at position {expected} (found {leaf.Position}); run auditctl verify");
            }
            expected++;
            yield return leaf;
        }
        if (expected != last + 1)
        {
            throw new InvalidOperationException($"the log has no event at position {expected}; run auditctl verify");
        }
    }
}
