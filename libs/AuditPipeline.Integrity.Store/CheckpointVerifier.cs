using Npgsql;
using NpgsqlTypes;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity;

namespace AuditPipeline.Integrity.Store;

/// <summary>One checkpoint checked against the store as it is now.</summary>
public sealed record CheckpointCheck(Checkpoint Checkpoint, string? SignatureProblem, string? ComputedRoot, bool RootMatches);

/// <summary>The result: every checkpoint, and where the store first differs from the stored tree (if it does).</summary>
public sealed record CheckpointVerification(IReadOnlyList<CheckpointCheck> Checks, long LeavesRead, (long FirstPosition, long LastPosition)? FirstChangedBlock)
{
    public bool Ok => Checks.All(c => c.SignatureProblem is null && c.RootMatches);
}

/// <summary>
/// Re-derives the Merkle root of the log from the events themselves (never from the stored tree,
/// which an attacker with database rights could rewrite along with the events) and compares it with
/// signed checkpoints: a superuser who edits an event and re-chains everything after it still
/// changes the root under every checkpoint signed before the edit. The stored level-8 nodes are
/// compared along the way only to say where the first change is.
/// </summary>
public sealed class CheckpointVerifier(NpgsqlDataSource dataSource)
{
    /// <param name="trusted">The keys signatures are checked with: pinned ones, never audit.signing_keys or a checkpoint folder's keys/ unless the caller was told to accept that.</param>
    /// <param name="archivedLeaves">The leaves of months dropped from the hot store, in position order, read from their archive (retention's ArchiveLayout.ReadLeaves).</param>
    public async Task<CheckpointVerification> VerifyAsync(
        IReadOnlyList<Checkpoint> checkpoints, TrustedKeys trusted, IProgress<long>? progress, CancellationToken ct,
        IEnumerable<(long Position, byte[] ChainHash)>? archivedLeaves = null)
    {
        var ordered = checkpoints.OrderBy(c => c.Size).ToList();
        var checks = new List<CheckpointCheck>();
        if (ordered.Count == 0)
        {
            return new CheckpointVerification(checks, 0, null);
        }
        var logSize = await new StoredMerkleTree(dataSource).LogSizeAsync(ct);
        var completed = new List<(long Index, byte[] Hash)>();
        var range = new CompactRange((level, index, hash) =>
        {
            if (level == StoredMerkleTree.StoredFromLevel)
            {
                completed.Add((index, hash));
            }
        }, StoredMerkleTree.StoredFromLevel);
        (long, long)? firstChanged = null;
        var next = 0;
        while (next < ordered.Count && ordered[next].Size == 0)
        {
            checks.Add(Check(ordered[next++], MerkleTree.EmptyRoot(), trusted));
        }
        var upTo = Math.Min(ordered[^1].Size, logSize);
        await foreach (var (position, chainHash) in LeavesAsync(upTo, archivedLeaves, ct))
        {
            range.AppendLeaf(StoredMerkleTree.LeafHash(position, chainHash));
            while (next < ordered.Count && ordered[next].Size == position)
            {
                checks.Add(Check(ordered[next++], range.Root(), trusted));
            }
            if (completed.Count >= 4096 || position == upTo)
            {
                firstChanged ??= await FirstDifferenceAsync(completed, ct);
                completed.Clear();
            }
            if ((position & 0xFFFFF) == 0)
            {
                progress?.Report(position);
            }
        }
        // Checkpoints past the end of the log: the log lost its tail.
        checks.AddRange(ordered.Skip(next).Select(c => new CheckpointCheck(c, trusted.Verify(c), null, false)));
        return new CheckpointVerification(checks, range.Size, firstChanged);
    }

    /// <summary>Leaves 1..upTo from the store, and from the archive for dropped months; a position in neither is an error.</summary>
    private async IAsyncEnumerable<(long Position, byte[] ChainHash)> LeavesAsync(long upTo, IEnumerable<(long Position, byte[] ChainHash)>? archivedLeaves, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        if (archivedLeaves is null)
        {
            await foreach (var leaf in StoredMerkleTree.ReadLeavesAsync(dataSource, 1, upTo, ct))
            {
                yield return leaf;
            }
            yield break;
        }
        using var archived = archivedLeaves.Where(l => l.Position <= upTo).GetEnumerator();
        var hasArchived = archived.MoveNext();
        long expected = 1;
        await foreach (var (position, hash) in StoredMerkleTree.ReadAvailableLeavesAsync(dataSource, 1, upTo, ct))
        {
            while (hasArchived && archived.Current.Position < position)
            {
                if (archived.Current.Position == expected)
                {
                    yield return archived.Current;
                    expected++;
                }
                hasArchived = archived.MoveNext();
            }
            if (position != expected)
            {
                throw new InvalidOperationException($"log position {expected} is neither in the store nor in the archive");
            }
            yield return (position, hash);
            expected++;
        }
        for (; hasArchived && expected <= upTo; hasArchived = archived.MoveNext())
        {
            if (archived.Current.Position == expected)
            {
                yield return archived.Current;
                expected++;
            }
        }
        if (expected <= upTo)
        {
            throw new InvalidOperationException($"log position {expected} is neither in the store nor in the archive");
        }
    }

    private static CheckpointCheck Check(Checkpoint c, byte[] root, TrustedKeys trusted)
    {
        var hex = Convert.ToHexStringLower(root);
        return new CheckpointCheck(c, trusted.Verify(c), hex, hex == c.RootHash);
    }

    private async Task<(long, long)?> FirstDifferenceAsync(List<(long Index, byte[] Hash)> computed, CancellationToken ct)
    {
        if (computed.Count == 0)
        {
            return null;
        }
        await using var cmd = dataSource.CreateCommand(IntegritySql.MerkleReadNodes);
        cmd.Parameters.Add(new NpgsqlParameter("levels", NpgsqlDbType.Array | NpgsqlDbType.Smallint) { Value = computed.Select(_ => (short)StoredMerkleTree.StoredFromLevel).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter("indexes", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = computed.Select(c => c.Index).ToArray() });
        var stored = new Dictionary<long, byte[]>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                stored[reader.GetInt64(1)] = reader.GetFieldValue<byte[]>(2);
            }
        }
        foreach (var (index, hash) in computed)
        {
            if (stored.TryGetValue(index, out var s) && !s.AsSpan().SequenceEqual(hash))
            {
                var first = (index << StoredMerkleTree.StoredFromLevel) + 1;
                return (first, first + (1 << StoredMerkleTree.StoredFromLevel) - 1);
            }
        }
        return null;
    }
}
