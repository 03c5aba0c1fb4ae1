using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using AuditPipeline.Contracts;
using AuditPipeline.Integrity;

namespace AuditPipeline.Integrity.Evidence;

/// <summary>The per-line checks, and the tree rebuilt from the leaves and the proof's subtrees.</summary>
internal sealed class BundleEventChecks(BundleReport report, ProofReader? proof, long checkpointSize)
{
    private readonly Dictionary<string, StreamState> _streams = new(StringComparer.Ordinal);
    private readonly List<ChainSegment> _closed = [];
    private readonly CompactRange _tree = new();
    private bool _proofBroken = proof is null;
    private long _lastPosition;

    public long Events { get; private set; }

    /// <summary>The checks that follow the log: order, chain links, the tree. Lines come here in file order.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Apply(CheckedLine e)
    {
        Events++;
        if (e.ParseProblem is { } problem)
        {
            report.Fail(problem);
            _proofBroken = true;
            return;
        }
        var name = new LineName(e);
        if (e.Position <= _lastPosition)
        {
            report.Fail($"{name}: comes after log position {_lastPosition}; events must be in log order (events were reordered or repeated)");
            _proofBroken = true;
        }
        else if (e.Position > checkpointSize)
        {
            report.Fail($"{name}: is past the checkpoint's log size {checkpointSize}");
            _proofBroken = true;
        }
        if (!e.HashMatches)
        {
            report.Fail($"{name}: its hash does not match its contents (the event was changed)");
        }
        Link(e, name);
        if (!_proofBroken)
        {
            AdvanceProof(e.Position - 1, name);
            if (!_proofBroken)
            {
                _tree.AppendLeaf(e.LeafHash);
            }
        }
        _lastPosition = Math.Max(_lastPosition, e.Position);
    }

    private void Link(CheckedLine e, LineName name)
    {
        if (!_streams.TryGetValue(e.Stream, out var state))
        {
            _streams[e.Stream] = new StreamState(e.Version, e.Version, e.PrevHash, e.Hash);
            return;
        }
        if (e.Version <= state.Last)
        {
            report.Fail($"{name}: comes after version {state.Last} of its chain (events were reordered or repeated)");
            return;
        }
        if (e.Version == state.Last + 1)
        {
            if (!e.PrevHash.AsSpan().SequenceEqual(state.LastHash))
            {
                report.Fail($"{name}: prev_hash does not match the hash of version {state.Last} before it (the chain link is broken)");
            }
            state.Last = e.Version;
            state.LastHash = e.Hash;
            return;
        }
        // A gap: the chain continues in a new segment, which the manifest must list.
        _closed.Add(state.Build(e.Stream));
        _streams[e.Stream] = new StreamState(e.Version, e.Version, e.PrevHash, e.Hash);
    }

    /// <summary>Feeds the proof's subtrees up to leaf <paramref name="index"/>, which must come next.</summary>
    private void AdvanceProof(long index, LineName name)
    {
        while (_tree.Size < index)
        {
            if (!proof!.TryNext(out var node, out var problem))
            {
                report.Fail(problem ?? $"{name}: log positions {_tree.Size + 1}..{index} before it are neither in the bundle nor in {BundleFormat.Proof} (events were removed)");
                _proofBroken = true;
                return;
            }
            if (!Append(node))
            {
                return;
            }
        }
        if (_tree.Size > index)
        {
            report.Fail($"{name}: {BundleFormat.Proof} already covers this position (the proof does not fit the events)");
            _proofBroken = true;
        }
    }

    private bool Append(ProofReader.Node node)
    {
        if (node.Index << node.Level != _tree.Size || node.Level > 62)
        {
            report.Fail($"{BundleFormat.Proof} line {proof!.Count}: subtree at level {node.Level} index {node.Index} does not start at leaf {_tree.Size} (the proof does not fit the events)");
            _proofBroken = true;
            return false;
        }
        _tree.AppendNode(node.Level, node.Hash);
        return true;
    }

    public void FinishProof(Checkpoint checkpoint)
    {
        while (!_proofBroken && _tree.Size < checkpoint.Size)
        {
            if (!proof!.TryNext(out var node, out var problem))
            {
                report.Fail(problem ?? $"{BundleFormat.Proof}: covers {_tree.Size} of the checkpoint's {checkpoint.Size} leaves (the proof was cut)");
                _proofBroken = true;
                break;
            }
            Append(node);
        }
        if (_proofBroken)
        {
            report.Fail($"{BundleFormat.Proof}: the events are not proven included in checkpoint {checkpoint.Size} (see above)");
            return;
        }
        if (proof!.TryNext(out _, out _))
        {
            report.Fail($"{BundleFormat.Proof}: has subtrees past the checkpoint's {checkpoint.Size} leaves");
        }
        else if (_tree.Size != checkpoint.Size)
        {
            report.Fail($"{BundleFormat.Proof}: covers {_tree.Size} leaves, the checkpoint {checkpoint.Size}");
        }
        else if (Convert.ToHexStringLower(_tree.Root()) != checkpoint.RootHash)
        {
            report.Fail($"{BundleFormat.Proof}: the events and the proof give root {Convert.ToHexStringLower(_tree.Root())}, not the signed root {checkpoint.RootHash} (an event or a proof node was changed)");
        }
    }

    public List<ChainSegment> Segments() => [.. _closed, .. _streams.Select(s => s.Value.Build(s.Key))];

    private sealed class StreamState(long first, long last, byte[] anchor, byte[] lastHash)
    {
        public long Last { get; set; } = last;
        public byte[] LastHash { get; set; } = lastHash;
        public ChainSegment Build(string stream) => new(stream, first, Last, Convert.ToHexStringLower(anchor), Convert.ToHexStringLower(LastHash));
    }
}
