using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity;
using AuditPipeline.Integrity.Store;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace AuditPipeline.Projections;

/// <summary>The tree's size and root at one moment.</summary>
public sealed record TreeHead(long Size, byte[] Root);

/// <summary>
/// Keeps the Merkle tree over the whole log: every event becomes a leaf in log order, and each
/// perfect subtree of 256 leaves or more that closes is stored in <c>audit.merkle_nodes</c> before
/// the subscription's checkpoint moves (a replay completes the same nodes again, which the insert
/// ignores). The right edge lives in memory and is restored from the stored nodes, so a restart
/// reads at most 255 leaves back. After each batch the root at the new size is kept so the signer
/// can sign it without asking the database.
/// </summary>
public sealed class MerkleTreeProjection(NpgsqlDataSource dataSource, ILogger logger)
{
    public const string SubscriptionName = "merkle-tree";

    private readonly StoredMerkleTree _tree = new(dataSource);
    private CompactRange? _range;
    private TreeHead? _head;

    /// <summary>Size and root after the last handled batch, or null before the first.</summary>
    public TreeHead? Head => Volatile.Read(ref _head);

    public async Task HandleAsync(IReadOnlyList<StoredEvent> batch, CancellationToken ct)
    {
        var startsAt = batch[0].GlobalSeq - 1;
        if (_range is null || _range.Size != startsAt)
        {
            _range = await RestoreAsync(startsAt, ct);
        }
        var completed = new List<(int Level, long Index, byte[] Hash)>();
        var range = CompactRange.Restore(_range.Size, _range.Frontier, (level, index, hash) => completed.Add((level, index, hash)), StoredMerkleTree.StoredFromLevel);
        foreach (var e in batch)
        {
            if (e.GlobalSeq != range.Size + 1)
            {
                throw new InvalidOperationException($"Tree projection expected log position {range.Size + 1} but got {e.GlobalSeq}.");
            }
            range.AppendLeaf(StoredMerkleTree.LeafHash(e.GlobalSeq, e.Hash));
        }
        if (completed.Count > 0)
        {
            await using var cmd = dataSource.CreateCommand(IntegritySql.MerkleInsertNodes);
            cmd.Parameters.Add(new NpgsqlParameter("levels", NpgsqlDbType.Array | NpgsqlDbType.Smallint) { Value = completed.Select(n => (short)n.Level).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter("indexes", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = completed.Select(n => n.Index).ToArray() });
            cmd.Parameters.Add(new NpgsqlParameter("hashes", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = completed.Select(n => n.Hash).ToArray() });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            if (await reader.ReadAsync(ct))
            {
                throw new TreeTamperedException(
                    $"audit.merkle_nodes already holds node (level {reader.GetInt16(0)}, index {reader.GetInt64(1)}) with another hash than the events give: it was planted or altered; the tree projection stops");
            }
        }
        // Only now, with the nodes durable, does the in-memory edge move.
        _range = range;
        Volatile.Write(ref _head, new TreeHead(range.Size, range.Root()));
    }

    /// <summary>The right edge at <paramref name="size"/> from stored nodes (and at most 255 leaves).</summary>
    private async Task<CompactRange> RestoreAsync(long size, CancellationToken ct)
    {
        var parts = CompactRange.Decomposition(size).ToList();
        var nodes = await _tree.NodesAsync(parts, ct);
        logger.LogInformation("Tree projection resumes at log position {Size} ({Nodes} frontier nodes)", size, parts.Count);
        return CompactRange.Restore(size, parts.Select(p => nodes[p]).ToList());
    }

    /// <summary>
    /// Signs a checkpoint every <paramref name="interval"/> when the tree has grown since the last
    /// one. Runs beside the subscription; a standby never handles a batch, so it never signs.
    /// </summary>
    public async Task SignPeriodicallyAsync(CheckpointService checkpoints, TimeSpan interval, CancellationToken ct)
    {
        long signed = -1;
        using var timer = new PeriodicTimer(interval);
        while (await timer.WaitForNextTickAsync(ct))
        {
            if (Head is not { } head || head.Size == signed || head.Size == 0)
            {
                continue;
            }
            try
            {
                var checkpoint = await checkpoints.SignAsync(head.Size, head.Root, "projections", ct);
                signed = head.Size;
                logger.LogInformation("Checkpoint signed: log size {Size}, root {Root}, key {KeyId}", checkpoint.Size, checkpoint.RootHash, checkpoint.KeyId);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning("Checkpoint at log size {Size} failed ({Error}); retrying at the next interval", head.Size, ex.Message);
            }
        }
    }
}
