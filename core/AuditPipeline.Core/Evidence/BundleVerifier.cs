using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using AuditPipeline.Core.Integrity;
using AuditPipeline.Core.Store;

namespace AuditPipeline.Core.Evidence;

/// <summary>What verifying a bundle found. Problems name the file and, where there is one, the event.</summary>
public sealed class BundleReport
{
    private const int MaxListed = 200;
    private readonly List<string> _problems = [];

    public IReadOnlyList<string> Problems => _problems;
    /// <summary>Problems found beyond the first <see cref="MaxListed"/> (counted, not listed).</summary>
    public long MoreProblems { get; private set; }
    public bool Ok => _problems.Count == 0;
    public long Events { get; set; }
    public long ProofNodes { get; set; }
    public long CheckpointSize { get; set; }
    public string? RootHash { get; set; }
    /// <summary>The key the signatures were checked with (the trusted key when pinned), else the one public-key.pem holds.</summary>
    public string? KeyId { get; set; }
    /// <summary>Whether the signatures were checked with a trusted key rather than the bundle's own public-key.pem.</summary>
    public bool Pinned { get; init; }
    /// <summary>Set for an archive segment purged after the retention period (only its chain hashes remain).</summary>
    public PurgeRecord? Purged { get; set; }

    public void Fail(string problem)
    {
        lock (_problems)
        {
            if (_problems.Count < MaxListed)
            {
                _problems.Add(problem);
            }
            else
            {
                MoreProblems++;
            }
        }
    }
}

/// <summary>
/// Verifies an evidence bundle with nothing but its files: no database, no network. It checks the
/// manifest's signature and every file's SHA-256, the checkpoint's signature, every event's chain
/// hash and its link to the previous event of its chain, the chain segments against the manifest,
/// and that the events' leaves together with the proof's subtrees rebuild the checkpoint's root
/// (an inclusion proof for every event at once). The events file is read once: one thread reads
/// and hashes it for the manifest while another checks the events.
/// </summary>
public static class BundleVerifier
{
    /// <param name="trusted">
    /// The key(s) every signature must verify with. Pinned: the checkpoint's key id picks a trusted
    /// key, manifest.sig and the checkpoint are checked with that key, and public-key.pem must be
    /// that very key (whole SubjectPublicKeyInfo, not just its id). <see cref="TrustedKeys.SelfSigned"/>:
    /// the bundle's own public-key.pem is used (keys passed in are ignored), which anyone can forge.
    /// </param>
    /// <param name="now">What "the future" is for a purge record's date (default: this machine's clock).</param>
    public static BundleReport Verify(string directory, TrustedKeys trusted, IProgress<long>? progress = null, DateTimeOffset? now = null)
    {
        var report = new BundleReport { Pinned = trusted.IsPinned };
        if (!Directory.Exists(directory))
        {
            report.Fail($"{directory}: no such bundle folder");
            return report;
        }
        var manifestBytes = ReadOrFail(directory, BundleFormat.Manifest, report);
        var manifest = ParseManifest(manifestBytes, report);
        // The shipped key is a hint (and the whole key when self-signed); pinned, it must equal the trusted key.
        TrustedKey? shipped = null;
        if (ReadOrFail(directory, BundleFormat.PublicKey, report) is { } pemBytes)
        {
            shipped = TrustedKeys.Parse(Encoding.ASCII.GetString(pemBytes));
            if (shipped is null)
            {
                report.Fail($"{BundleFormat.PublicKey}: not an ECDSA public key in PEM form");
            }
        }
        report.KeyId = shipped?.KeyId;

        var checkpoint = ReadCheckpoint(directory, manifest, report);
        var keys = trusted.IsPinned ? trusted
            : TrustedKeys.SelfSigned(shipped is null ? null : new Dictionary<string, string> { [shipped.KeyId] = shipped.PublicKeyPem });
        var signing = SigningKey(keys, shipped, checkpoint?.KeyId ?? manifest?.Checkpoint.KeyId, report);
        if (signing is not null)
        {
            report.KeyId = signing.KeyId;
            // The manifest signature: without it the file hashes below would prove nothing.
            if (manifestBytes is not null && ReadOrFail(directory, BundleFormat.ManifestSignature, report) is { } sig
                && CheckpointSigner.VerifyDocument(signing.PublicKeyPem, manifestBytes, Encoding.ASCII.GetString(sig)) is { } sigProblem)
            {
                report.Fail($"{BundleFormat.ManifestSignature}: {sigProblem} ({BundleFormat.Manifest} was changed, or signed by another key than {(trusted.IsPinned ? $"the trusted key {signing.KeyId}" : BundleFormat.PublicKey)})");
            }
            if (checkpoint is not null && keys.Verify(checkpoint) is { } problem)
            {
                report.Fail($"{BundleFormat.Checkpoint}: {problem}");
            }
        }

        report.Purged = ReadPurgeRecord(directory, manifest, report, now ?? DateTimeOffset.UtcNow);
        // The other files are hashed while the events are checked: both cores stay busy.
        var files = Task.Run(() => VerifyFileList(directory, manifest, report));
        if (report.Purged is null)
        {
            VerifyEvents(directory, manifest, checkpoint, report, progress);
        }
        else
        {
            VerifyLeaves(directory, manifest, checkpoint, report);
        }
        files.GetAwaiter().GetResult();
        return report;
    }

    /// <summary>The key the checkpoint names, from <paramref name="keys"/>; a missing or different key is a named failure.</summary>
    private static TrustedKey? SigningKey(TrustedKeys keys, TrustedKey? shipped, string? signedBy, BundleReport report)
    {
        var key = signedBy is null ? null : keys.Find(signedBy);
        if (keys.IsPinned && shipped is not null)
        {
            const string Why = "the bundle was re-signed with another key, or its public key was replaced";
            if (key is null && !keys.Contains(shipped.SubjectPublicKeyInfo))
            {
                report.Fail($"{BundleFormat.PublicKey}: is key {shipped.KeyId}, not a trusted key (trusted: {string.Join(", ", keys.KeyIds)}): {Why}");
            }
            else if (key is not null && !key.IsKey(shipped.SubjectPublicKeyInfo))
            {
                report.Fail($"{BundleFormat.PublicKey}: is not the trusted key {key.KeyId}{(shipped.KeyId == key.KeyId ? " although it has its key id" : $" (it is key {shipped.KeyId})")}: {Why}");
            }
        }
        if (signedBy is not null && key is null)
        {
            if (keys.IsPinned)
            {
                report.Fail($"{BundleFormat.Checkpoint}: signed by key {signedBy}, which is not a trusted key (trusted: {string.Join(", ", keys.KeyIds)})");
            }
            else if (shipped is not null)
            {
                report.Fail($"{BundleFormat.PublicKey}: has key id {shipped.KeyId} but the checkpoint was signed by key {signedBy} (the public key was swapped)");
            }
        }
        return key;
    }

    private static byte[]? ReadOrFail(string directory, string name, BundleReport report)
    {
        var path = Path.Combine(directory, name);
        if (!File.Exists(path))
        {
            report.Fail($"{name}: missing");
            return null;
        }
        return File.ReadAllBytes(path);
    }

    private static BundleManifest? ParseManifest(byte[]? bytes, BundleReport report)
    {
        if (bytes is null)
        {
            return null;
        }
        try
        {
            var manifest = JsonSerializer.Deserialize<BundleManifest>(bytes, BundleFormat.Json);
            if (manifest?.Format == BundleFormat.Version && manifest.Files is not null && manifest.Segments is not null && manifest.Checkpoint is not null)
            {
                return manifest;
            }
            report.Fail($"{BundleFormat.Manifest}: not a {BundleFormat.Version} manifest");
        }
        catch (JsonException ex)
        {
            report.Fail($"{BundleFormat.Manifest}: not valid JSON ({ex.Message})");
        }
        return null;
    }

    /// <summary>checkpoint.json parsed and compared with the manifest; its signature is checked by the caller.</summary>
    private static Checkpoint? ReadCheckpoint(string directory, BundleManifest? manifest, BundleReport report)
    {
        if (ReadOrFail(directory, BundleFormat.Checkpoint, report) is not { } bytes)
        {
            return null;
        }
        CheckpointDocument document;
        try
        {
            document = CheckpointDocument.Parse(bytes);
        }
        catch (FormatException ex)
        {
            report.Fail($"{BundleFormat.Checkpoint}: {ex.Message}");
            return null;
        }
        var checkpoint = document.ToCheckpoint();
        report.CheckpointSize = checkpoint.Size;
        report.RootHash = checkpoint.RootHash;
        if (manifest is not null && (manifest.Checkpoint.Size != checkpoint.Size || manifest.Checkpoint.RootHash != checkpoint.RootHash || manifest.Checkpoint.KeyId != checkpoint.KeyId))
        {
            report.Fail($"{BundleFormat.Checkpoint}: size {checkpoint.Size} / root {checkpoint.RootHash} / key {checkpoint.KeyId} differ from the manifest's");
        }
        return checkpoint;
    }

    private static void VerifyFileList(string directory, BundleManifest? manifest, BundleReport report)
    {
        if (manifest is null)
        {
            return;
        }
        var listed = new HashSet<string>(StringComparer.Ordinal) { BundleFormat.Manifest, BundleFormat.ManifestSignature };
        if (report.Purged is not null)
        {
            listed.UnionWith([BundleFormat.PurgeRecord, BundleFormat.Leaves]);
        }
        foreach (var file in manifest.Files)
        {
            // A hostile manifest must not make the verifier read outside the bundle.
            if (file.Path.Length == 0 || file.Path != Path.GetFileName(file.Path) || file.Path is "." or "..")
            {
                report.Fail($"{BundleFormat.Manifest}: lists an unsafe path '{file.Path}'");
                continue;
            }
            listed.Add(file.Path);
            if (file.Path is BundleFormat.Events or BundleFormat.EventsCompressed || report.Purged?.Removed.Contains(file.Path) == true)
            {
                continue; // hashed while its events are checked, or purged
            }
            var path = Path.Combine(directory, file.Path);
            if (!File.Exists(path))
            {
                report.Fail($"{file.Path}: listed in the manifest but missing");
                continue;
            }
            using var stream = File.OpenRead(path);
            var hash = Convert.ToHexStringLower(SHA256.HashData(stream));
            if (hash != file.Sha256 || stream.Length != file.Bytes)
            {
                report.Fail($"{file.Path}: SHA-256 {hash} ({stream.Length} bytes) differs from the manifest's {file.Sha256} ({file.Bytes} bytes): the file was changed");
            }
        }
        foreach (var extra in Directory.EnumerateFileSystemEntries(directory).Select(Path.GetFileName).Where(n => !listed.Contains(n!)))
        {
            report.Fail($"{extra}: in the bundle but not in the manifest");
        }
        if (!manifest.Files.Any(f => f.Path is BundleFormat.Events or BundleFormat.EventsCompressed))
        {
            report.Fail($"{BundleFormat.Manifest}: does not list {BundleFormat.Events}");
        }
        foreach (var required in new[] { BundleFormat.Proof, BundleFormat.Checkpoint, BundleFormat.PublicKey })
        {
            if (!manifest.Files.Any(f => f.Path == required))
            {
                report.Fail($"{BundleFormat.Manifest}: does not list {required}");
            }
        }
    }

    private static void VerifyEvents(string directory, BundleManifest? manifest, Checkpoint? checkpoint, BundleReport report, IProgress<long>? progress)
    {
        var eventsName = manifest?.Files.Any(f => f.Path == BundleFormat.EventsCompressed) == true || File.Exists(Path.Combine(directory, BundleFormat.EventsCompressed))
            ? BundleFormat.EventsCompressed : BundleFormat.Events;
        var eventsPath = Path.Combine(directory, eventsName);
        var proofPath = Path.Combine(directory, BundleFormat.Proof);
        if (!File.Exists(eventsPath))
        {
            report.Fail($"{eventsName}: missing");
            return;
        }
        using var proof = File.Exists(proofPath) ? new ProofReader(proofPath) : null;
        if (proof is null)
        {
            report.Fail($"{BundleFormat.Proof}: missing");
        }
        var check = new EventChecks(report, proof, checkpoint?.Size ?? long.MaxValue);
        // Verify is synchronous for its callers (CLI, tests, benchmark); the pipeline inside is async so no thread spins waiting.
        string fileHash;
        long fileBytes, lines;
        bool cut;
        try
        {
            (fileHash, fileBytes, lines, cut) = Task.Run(() => EventPipeline.RunAsync(eventsPath, check.Apply, progress)).GetAwaiter().GetResult();
        }
        catch (InvalidDataException ex)
        {
            report.Fail($"{eventsName}: not valid gzip ({ex.Message}): the file was changed or cut");
            return;
        }
        if (cut)
        {
            report.Fail($"{BundleFormat.Events}: the last line has no newline (the file was cut or changed)");
        }
        progress?.Report(lines);
        if (manifest?.Files.FirstOrDefault(f => f.Path == eventsName) is { } listed && (listed.Sha256 != fileHash || listed.Bytes != fileBytes))
        {
            report.Fail($"{eventsName}: SHA-256 {fileHash} ({fileBytes} bytes) differs from the manifest's {listed.Sha256} ({listed.Bytes} bytes): the file was changed");
        }
        Finish(check, proof, manifest, checkpoint, report);
    }

    /// <summary>Counts, chain runs and the rebuilt root, once every line was applied.</summary>
    private static void Finish(EventChecks check, ProofReader? proof, BundleManifest? manifest, Checkpoint? checkpoint, BundleReport report)
    {
        report.Events = check.Events;
        if (manifest is not null)
        {
            if (manifest.EventCount != check.Events)
            {
                report.Fail($"{BundleFormat.Events}: holds {check.Events} events, the manifest says {manifest.EventCount}");
            }
            CompareSegments(manifest.Segments, check.Segments(), report);
        }
        if (checkpoint is not null && proof is not null)
        {
            check.FinishProof(checkpoint);
            report.ProofNodes = proof.Count;
        }
    }

    private static PurgeRecord? ReadPurgeRecord(string directory, BundleManifest? manifest, BundleReport report, DateTimeOffset now)
    {
        var path = Path.Combine(directory, BundleFormat.PurgeRecord);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            var record = JsonSerializer.Deserialize<PurgeRecord>(File.ReadAllBytes(path), BundleFormat.Json);
            if (record?.Removed is null || manifest?.SealedMonth is null || record.Month != manifest.SealedMonth || record.Removed.Any(r => !BundleFormat.PurgedFiles.Contains(r)))
            {
                report.Fail($"{BundleFormat.PurgeRecord}: only a sealed archive segment can be purged, and only of event contents ({string.Join(", ", BundleFormat.PurgedFiles)})");
                return null;
            }
            // A purge record may only excuse files that are really gone, and every content file
            // the manifest lists must be gone: otherwise one unsigned file could switch off the
            // checks of contents that are still there (and possibly changed).
            var listedContents = manifest.Files.Select(f => f.Path).Where(BundleFormat.PurgedFiles.Contains).Order(StringComparer.Ordinal).ToList();
            var present = listedContents.Where(f => File.Exists(Path.Combine(directory, f))).ToList();
            if (present.Count > 0 || !record.Removed.Order(StringComparer.Ordinal).SequenceEqual(listedContents))
            {
                report.Fail($"{BundleFormat.PurgeRecord}: claims a purge, but {(present.Count > 0 ? $"{string.Join(", ", present)} still exist" : "it does not list every content file of the manifest")} (a purge removes all of {string.Join(", ", listedContents)})");
                return null;
            }
            if (record.PurgedAt > now.AddDays(1))
            {
                report.Fail($"{BundleFormat.PurgeRecord}: dated {record.PurgedAt:yyyy-MM-dd}, in the future");
                return null;
            }
            return record;
        }
        catch (JsonException ex)
        {
            report.Fail($"{BundleFormat.PurgeRecord}: not valid JSON ({ex.Message})");
            return null;
        }
    }

    /// <summary>
    /// A purged segment: its events' contents are gone, so their hashes cannot be recomputed, but
    /// the kept chain hashes must still link, match the manifest's chain runs, and with the proof
    /// rebuild the signed root, so not one of them can have been changed, added or removed.
    /// </summary>
    private static void VerifyLeaves(string directory, BundleManifest? manifest, Checkpoint? checkpoint, BundleReport report)
    {
        var leavesPath = Path.Combine(directory, BundleFormat.Leaves);
        var proofPath = Path.Combine(directory, BundleFormat.Proof);
        if (!File.Exists(leavesPath) || !File.Exists(proofPath))
        {
            report.Fail($"{(File.Exists(leavesPath) ? BundleFormat.Proof : BundleFormat.Leaves)}: missing (a purged segment keeps its chain hashes and proof)");
            return;
        }
        using var proof = new ProofReader(proofPath);
        var check = new EventChecks(report, proof, checkpoint?.Size ?? long.MaxValue);
        try
        {
            using var reader = new StreamReader(new System.IO.Compression.GZipStream(File.OpenRead(leavesPath), System.IO.Compression.CompressionMode.Decompress));
            long number = 0;
            while (reader.ReadLine() is { } text)
            {
                number++;
                LeafLine? leaf = null;
                try
                {
                    leaf = JsonSerializer.Deserialize<LeafLine>(text, BundleFormat.Json);
                }
                catch (JsonException)
                {
                }
                if (leaf is null || leaf.Stream is null || leaf.PrevHash is null || leaf.Hash is null || leaf.PrevHash.Length != 64 || leaf.Hash.Length != 64)
                {
                    check.Apply(new CheckedLine(number, $"{BundleFormat.Leaves} line {number}: not a leaf line", 0, "", 0, default, [], [], [], false));
                    continue;
                }
                var hash = Convert.FromHexString(leaf.Hash);
                check.Apply(new CheckedLine(number, null, leaf.Position, leaf.Stream, leaf.Version, leaf.EventId, Convert.FromHexString(leaf.PrevHash), hash,
                    StoredMerkleTree.LeafHash(leaf.Position, hash), HashMatches: true));
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException)
        {
            report.Fail($"{BundleFormat.Leaves}: not valid ({ex.Message}): the file was changed or cut");
            return;
        }
        Finish(check, proof, manifest, checkpoint, report);
    }

    private static void CompareSegments(IReadOnlyList<ChainSegment> expected, List<ChainSegment> actual, BundleReport report)
    {
        var want = expected.GroupBy(s => s.Stream, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.OrderBy(s => s.FirstVersion).ToList(), StringComparer.Ordinal);
        var have = actual.GroupBy(s => s.Stream, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.OrderBy(s => s.FirstVersion).ToList(), StringComparer.Ordinal);
        static string Describe(List<ChainSegment>? segments) => segments is null ? "none" : string.Join(", ", segments.Select(s => $"{s.FirstVersion}..{s.LastVersion}"));
        foreach (var stream in want.Keys.Union(have.Keys).Order(StringComparer.Ordinal))
        {
            var w = want.GetValueOrDefault(stream);
            var h = have.GetValueOrDefault(stream);
            if (w is null || h is null || !w.SequenceEqual(h))
            {
                report.Fail($"{BundleFormat.Events}: chain '{stream}' has versions {Describe(h)} but the manifest lists {Describe(w)}"
                    + (w is not null && h is not null && w.Select(s => (s.FirstVersion, s.LastVersion)).SequenceEqual(h.Select(s => (s.FirstVersion, s.LastVersion)))
                        ? " with other anchor or last hashes" : " (events were removed, added or reordered)"));
            }
        }
    }

    /// <summary>The per-line checks, and the tree rebuilt from the leaves and the proof's subtrees.</summary>
    private sealed class EventChecks(BundleReport report, ProofReader? proof, long checkpointSize)
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

    /// <summary>inclusion-proof.jsonl, one subtree per line, read as the events need them.</summary>
    private sealed class ProofReader(string path) : IDisposable
    {
        private readonly StreamReader _reader = new(path, Encoding.UTF8, false, 1 << 16);

        public readonly record struct Node(int Level, long Index, byte[] Hash);

        public long Count { get; private set; }

        public bool TryNext(out Node node, out string? problem)
        {
            node = default;
            problem = null;
            var line = _reader.ReadLine();
            if (line is null)
            {
                return false;
            }
            Count++;
            try
            {
                var n = JsonSerializer.Deserialize<ProofNode>(line, BundleFormat.Json);
                var hash = n?.Hash is { Length: 64 } hex ? Hex.TryDecode(Encoding.ASCII.GetBytes(hex)) : null;
                if (n is null || hash is null || n.Level < 0 || n.Index < 0)
                {
                    problem = $"{BundleFormat.Proof} line {Count}: not a subtree (level, index, 64 lowercase hex digits)";
                    return false;
                }
                node = new Node(n.Level, n.Index, hash);
                return true;
            }
            catch (JsonException ex)
            {
                problem = $"{BundleFormat.Proof} line {Count}: not valid JSON ({ex.Message})";
                return false;
            }
        }

        public void Dispose() => _reader.Dispose();
    }
}

/// <summary>How a problem names its event; formatted only when there is a problem (verification does this per line).</summary>
internal readonly struct LineName(CheckedLine e)
{
    public override string ToString() =>
        $"{BundleFormat.Events} line {e.LineNumber}: event {e.EventId} (chain '{e.Stream}' version {e.Version}, log position {e.Position})";
}

/// <summary>Passes reads through and hashes every byte read.</summary>
internal sealed class HashingReadStream(Stream inner, IncrementalHash hash) : Stream
{
    public long BytesRead { get; private set; }
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        hash.AppendData(buffer[..n]);
        BytesRead += n;
        return n;
    }
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => inner.Length;
    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>A line after the checks that need only the line itself.</summary>
internal sealed record CheckedLine(
    long LineNumber, string? ParseProblem, long Position, string Stream, long Version, Guid EventId,
    byte[] PrevHash, byte[] Hash, byte[] LeafHash, bool HashMatches);

/// <summary>
/// Reads events.jsonl once, on three kinds of thread: a reader that hashes the raw file (for the
/// manifest) and cuts it into blocks of whole lines; two workers that parse blocks and recompute
/// chain and leaf hashes (the expensive, independent part); and the caller, which applies the
/// results in file order (log order, links, the tree). Memory is bounded by the blocks in flight.
/// </summary>
internal static class EventPipeline
{
    private const int Workers = 2;
    private const int BlockBytes = 1 << 22;
    private const int InFlight = 6;

    private sealed record Block(byte[] Buffer, int Length, long FirstLine)
    {
        public TaskCompletionSource<CheckedLine[]> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public static async Task<(string FileHash, long FileBytes, long Lines, bool Cut)> RunAsync(string path, Action<CheckedLine> applyInOrder, IProgress<long>? progress)
    {
        var work = Channel.CreateBounded<Block>(new BoundedChannelOptions(InFlight) { SingleWriter = true });
        var ordered = Channel.CreateBounded<Block>(new BoundedChannelOptions(InFlight) { SingleWriter = true, SingleReader = true });
        long fileBytes = 0, lines = 0;
        var cut = false;
        var reader = Task.Run(async () =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            try
            {
                // The manifest's hash is of the file as stored (compressed or not): hash the raw bytes as they are read.
                using var raw = new HashingReadStream(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan), hash);
                using Stream file = path.EndsWith(".gz", StringComparison.Ordinal) ? new System.IO.Compression.GZipStream(raw, System.IO.Compression.CompressionMode.Decompress, leaveOpen: true) : raw;
                var carry = 0;
                var buffer = ArrayPool<byte>.Shared.Rent(BlockBytes);
                while (true)
                {
                    if (carry == buffer.Length)
                    {
                        // One line longer than a block: grow the buffer (bounded by the line, which the parser then judges).
                        var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, carry).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }
                    var read = file.ReadAtLeast(buffer.AsSpan(carry), buffer.Length - carry, throwOnEndOfStream: false);
                    var filled = carry + read;
                    var end = buffer.AsSpan(0, filled).LastIndexOf((byte)'\n') + 1;
                    if (read == 0)
                    {
                        cut = filled > 0;
                        ArrayPool<byte>.Shared.Return(buffer);
                        raw.CopyTo(Stream.Null); // anything after the compressed data is part of the file too
                        fileBytes = raw.BytesRead;
                        break;
                    }
                    if (end == 0)
                    {
                        carry = filled;
                        continue;
                    }
                    var count = buffer.AsSpan(0, end).Count((byte)'\n');
                    var block = new Block(buffer, end, lines + 1);
                    lines += count;
                    await ordered.Writer.WriteAsync(block);
                    await work.Writer.WriteAsync(block);
                    var next = ArrayPool<byte>.Shared.Rent(BlockBytes);
                    carry = filled - end;
                    buffer.AsSpan(end, carry).CopyTo(next);
                    buffer = next;
                }
            }
            finally
            {
                work.Writer.Complete();
                ordered.Writer.Complete();
            }
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        });

        var workers = Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            while (await work.Reader.WaitToReadAsync())
            {
                while (work.Reader.TryRead(out var block))
                {
                    try
                    {
                        block.Done.SetResult(ParseBlock(block));
                    }
                    catch (Exception ex)
                    {
                        block.Done.SetException(ex);
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(block.Buffer);
                    }
                }
            }
        })).ToArray();

        while (await ordered.Reader.WaitToReadAsync())
        {
            while (ordered.Reader.TryRead(out var block))
            {
                var parsed = await block.Done.Task;
                foreach (var line in parsed)
                {
                    applyInOrder(line);
                }
                progress?.Report(block.FirstLine);
            }
        }
        await Task.WhenAll(workers);
        return (await reader, fileBytes, lines, cut);
    }

    /// <summary>The part of a line's checks that needs no other line: run on any thread.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static CheckedLine ParseLine(ReadOnlySpan<byte> line, long lineNumber)
    {
        if (!EventLine.TryParse(line, out var e, out var why))
        {
            return new CheckedLine(lineNumber, $"{BundleFormat.Events} line {lineNumber}: {why}", 0, "", 0, default, [], [], [], false);
        }
        var computed = ChainHash.Compute(e.PrevHash, e.Stream, e.Version, e.EventId, e.EventType, e.RecordedAt, e.Payload);
        var hash = e.Hash.ToArray();
        return new CheckedLine(lineNumber, null, e.Position, e.Stream, e.Version, e.EventId, e.PrevHash.ToArray(), hash,
            StoredMerkleTree.LeafHash(e.Position, hash), computed.AsSpan().SequenceEqual(hash));
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static CheckedLine[] ParseBlock(Block block)
    {
        var data = block.Buffer.AsSpan(0, block.Length);
        var result = new List<CheckedLine>(data.Count((byte)'\n'));
        var number = block.FirstLine;
        while (data.Length > 0)
        {
            var newline = data.IndexOf((byte)'\n');
            result.Add(ParseLine(data[..newline], number++));
            data = data[(newline + 1)..];
        }
        return [.. result];
    }
}

/// <summary>One line of events.jsonl, parsed strictly: the writer's field order, nothing else.</summary>
internal readonly ref struct EventLine
{
    public long Position { get; init; }
    public string Stream { get; init; }
    public long Version { get; init; }
    public Guid EventId { get; init; }
    public string EventType { get; init; }
    public DateTimeOffset RecordedAt { get; init; }
    public ReadOnlySpan<byte> PrevHash { get; init; }
    public ReadOnlySpan<byte> Hash { get; init; }
    public ReadOnlySpan<byte> Payload { get; init; }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static bool TryParse(ReadOnlySpan<byte> line, out EventLine result, out string problem)
    {
        result = default;
        problem = "";
        try
        {
            var reader = new Utf8JsonReader(line);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                problem = "not a JSON object";
                return false;
            }
            long position = 0, version = 0;
            string? stream = null, type = null;
            Guid id = default;
            DateTimeOffset recordedAt = default;
            byte[]? prev = null, hash = null;
            for (var i = 0; i < Fields.Length; i++)
            {
                var field = Fields[i];
                if (!reader.Read() || reader.TokenType != JsonTokenType.PropertyName || !reader.ValueTextEquals(field))
                {
                    problem = $"expected the field \"{Encoding.ASCII.GetString(field)}\" here (fields are position, stream, version, eventId, eventType, recordedAt, prevHash, hash, event)";
                    return false;
                }
                if (i == Fields.Length - 1)
                {
                    break; // "event": the payload follows verbatim
                }
                if (!reader.Read())
                {
                    problem = "cut short";
                    return false;
                }
                switch (i)
                {
                    case 0: // position
                        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out position) || position < 1) { problem = "position is not a positive integer"; return false; }
                        break;
                    case 1: // stream
                        if (reader.TokenType != JsonTokenType.String) { problem = "stream is not a string"; return false; }
                        stream = reader.GetString();
                        break;
                    case 2: // version
                        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out version) || version < 1) { problem = "version is not a positive integer"; return false; }
                        break;
                    case 3: // eventId
                        if (reader.TokenType != JsonTokenType.String || !Utf8Parser.TryParse(reader.ValueSpan, out id, out var used, 'D') || used != reader.ValueSpan.Length) { problem = "eventId is not a UUID"; return false; }
                        break;
                    case 4: // eventType
                        if (reader.TokenType != JsonTokenType.String) { problem = "eventType is not a string"; return false; }
                        type = reader.GetString();
                        break;
                    case 5: // recordedAt
                        if (reader.TokenType != JsonTokenType.String || !TryParseTime(reader.ValueSpan, out recordedAt)) { problem = $"recordedAt is not {BundleFormat.TimeFormat}"; return false; }
                        break;
                    case 6: // prevHash
                        if (reader.TokenType != JsonTokenType.String || Hex.TryDecode(reader.ValueSpan) is not { Length: 32 } p) { problem = "prevHash is not 64 lowercase hex digits"; return false; }
                        prev = p;
                        break;
                    case 7: // hash
                        if (reader.TokenType != JsonTokenType.String || Hex.TryDecode(reader.ValueSpan) is not { Length: 32 } h) { problem = "hash is not 64 lowercase hex digits"; return false; }
                        hash = h;
                        break;
                }
            }
            var start = (int)reader.BytesConsumed;
            if (line.Length < start + 3 || line[^1] != (byte)'}' || line[start] != (byte)'{')
            {
                problem = "the event is not a JSON object ending the line";
                return false;
            }
            result = new EventLine
            {
                Position = position, Stream = stream!, Version = version, EventId = id, EventType = type!, RecordedAt = recordedAt,
                PrevHash = prev, Hash = hash, Payload = line[start..^1],
            };
            return true;
        }
        catch (JsonException ex)
        {
            problem = $"not valid JSON ({ex.Message})";
            return false;
        }
    }

    private static readonly byte[][] Fields =
        ["position"u8.ToArray(), "stream"u8.ToArray(), "version"u8.ToArray(), "eventId"u8.ToArray(), "eventType"u8.ToArray(),
         "recordedAt"u8.ToArray(), "prevHash"u8.ToArray(), "hash"u8.ToArray(), "event"u8.ToArray()];

    /// <summary>Exactly yyyy-MM-ddTHH:mm:ss.ffffffZ.</summary>
    private static bool TryParseTime(ReadOnlySpan<byte> s, out DateTimeOffset value)
    {
        value = default;
        if (s.Length != 27 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[26] != 'Z')
        {
            return false;
        }
        static int Digits(ReadOnlySpan<byte> d)
        {
            var n = 0;
            foreach (var c in d)
            {
                if (c is < (byte)'0' or > (byte)'9')
                {
                    return -1;
                }
                n = n * 10 + (c - '0');
            }
            return n;
        }
        int year = Digits(s[..4]), month = Digits(s[5..7]), day = Digits(s[8..10]), hour = Digits(s[11..13]), minute = Digits(s[14..16]), second = Digits(s[17..19]), micros = Digits(s[20..26]);
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(Math.Max(year, 1), Math.Clamp(month, 1, 12)) || hour > 23 || minute > 59 || second > 59 || micros < 0)
        {
            return false;
        }
        value = new DateTimeOffset(year, month, day, hour, minute, second, TimeSpan.Zero).AddTicks(micros * 10L);
        return true;
    }
}

/// <summary>Lowercase hex only, so a hash has exactly one spelling.</summary>
internal static class Hex
{
    public static byte[]? TryDecode(ReadOnlySpan<byte> hex)
    {
        if ((hex.Length & 1) != 0)
        {
            return null;
        }
        var bytes = new byte[hex.Length / 2];
        for (var i = 0; i < bytes.Length; i++)
        {
            int hi = Nibble(hex[2 * i]), lo = Nibble(hex[2 * i + 1]);
            if ((hi | lo) < 0)
            {
                return null;
            }
            bytes[i] = (byte)((hi << 4) | lo);
        }
        return bytes;
    }

    private static int Nibble(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        _ => -1,
    };
}
