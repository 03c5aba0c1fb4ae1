namespace AuditPipeline.Integrity;

/// <summary>
/// The right edge of a growing RFC 9162 tree in O(log n) memory: the perfect subtrees of the binary
/// decomposition of its size, largest first. Leaves (or whole aligned subtrees) are appended left to
/// right; equal neighbours merge into their parent. The root of an RFC tree of size n is the fold
/// H(P1, H(P2, … H(Pk-1, Pk))) of that decomposition, so the root needs no more than the frontier.
/// Used by the store's tree projection (which persists the upper nodes it completes), by the
/// exporter and by the offline verifier (which rebuilds a checkpoint's root from a bundle).
/// </summary>
public sealed class CompactRange
{
    private readonly List<(int Level, byte[] Hash)> _frontier = [];
    private readonly Action<int, long, byte[]>? _completed;

    /// <param name="completed">Called with (level, index, hash) for every node completed at or above <paramref name="reportFromLevel"/>.</param>
    /// <param name="reportFromLevel">Lowest level reported to <paramref name="completed"/>.</param>
    public CompactRange(Action<int, long, byte[]>? completed = null, int reportFromLevel = 0)
    {
        _completed = completed;
        ReportFromLevel = reportFromLevel;
    }

    public int ReportFromLevel { get; }

    /// <summary>Leaves covered so far.</summary>
    public long Size { get; private set; }

    /// <summary>
    /// Restores the state at <paramref name="size"/> from the perfect subtrees of its decomposition
    /// (largest first), as <see cref="Decomposition"/> lists them.
    /// </summary>
    public static CompactRange Restore(long size, IReadOnlyList<byte[]> frontier, Action<int, long, byte[]>? completed = null, int reportFromLevel = 0)
    {
        var range = new CompactRange(completed, reportFromLevel);
        var parts = Decomposition(size).ToList();
        if (parts.Count != frontier.Count)
        {
            throw new ArgumentException($"a tree of {size} leaves has {parts.Count} frontier nodes, not {frontier.Count}", nameof(frontier));
        }
        for (var i = 0; i < parts.Count; i++)
        {
            range._frontier.Add((parts[i].Level, frontier[i]));
        }
        range.Size = size;
        return range;
    }

    /// <summary>The perfect subtrees (level, index) whose hashes make up the frontier at <paramref name="size"/>, largest first.</summary>
    public static IEnumerable<(int Level, long Index)> Decomposition(long size) => MerkleProofBuilder.Tiling(0, size);

    public void AppendLeaf(byte[] leafHash) => AppendNode(0, leafHash);

    /// <summary>Appends the aligned perfect subtree of 2^level leaves that starts at <see cref="Size"/>.</summary>
    public void AppendNode(int level, byte[] hash)
    {
        if ((Size & ((1L << level) - 1)) != 0)
        {
            throw new InvalidOperationException($"a subtree of level {level} cannot start at leaf {Size}");
        }
        if (_frontier.Count > 0 && _frontier[^1].Level < level)
        {
            throw new InvalidOperationException($"a subtree of level {level} cannot follow one of level {_frontier[^1].Level}");
        }
        Size += 1L << level;
        var (current, currentHash) = (level, hash);
        while (_frontier.Count > 0 && _frontier[^1].Level == current)
        {
            currentHash = MerkleTree.NodeHash(_frontier[^1].Hash, currentHash);
            _frontier.RemoveAt(_frontier.Count - 1);
            current++;
            if (current >= ReportFromLevel)
            {
                _completed?.Invoke(current, (Size >> current) - 1, currentHash);
            }
        }
        _frontier.Add((current, currentHash));
    }

    /// <summary>The frontier hashes, largest subtree first (what <see cref="Restore"/> takes).</summary>
    public IReadOnlyList<byte[]> Frontier => _frontier.Select(f => f.Hash).ToList();

    /// <summary>The RFC 9162 root of the leaves so far.</summary>
    public byte[] Root()
    {
        if (_frontier.Count == 0)
        {
            return MerkleTree.EmptyRoot();
        }
        var root = _frontier[^1].Hash;
        for (var i = _frontier.Count - 2; i >= 0; i--)
        {
            root = MerkleTree.NodeHash(_frontier[i].Hash, root);
        }
        return root;
    }
}
