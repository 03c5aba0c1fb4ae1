using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using AuditPipeline.Contracts;
using AuditPipeline.Integrity;

namespace AuditPipeline.Integrity.Evidence;

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
    public static async Task<BundleReport> VerifyAsync(string directory, TrustedKeys trusted, IProgress<long>? progress = null, DateTimeOffset? now = null, CancellationToken ct = default)
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
        var files = Task.Run(() => VerifyFileList(directory, manifest, report), ct);
        if (report.Purged is null)
        {
            await VerifyEventsAsync(directory, manifest, checkpoint, report, progress, ct);
        }
        else
        {
            VerifyLeaves(directory, manifest, checkpoint, report);
        }
        await files;
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

    private static async Task VerifyEventsAsync(string directory, BundleManifest? manifest, Checkpoint? checkpoint, BundleReport report, IProgress<long>? progress, CancellationToken ct)
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
        var check = new BundleEventChecks(report, proof, checkpoint?.Size ?? long.MaxValue);
        string fileHash;
        long fileBytes, lines;
        bool cut;
        try
        {
            (fileHash, fileBytes, lines, cut) = await EventPipeline.RunAsync(eventsPath, check.Apply, progress, ct);
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
    private static void Finish(BundleEventChecks check, ProofReader? proof, BundleManifest? manifest, Checkpoint? checkpoint, BundleReport report)
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
        var check = new BundleEventChecks(report, proof, checkpoint?.Size ?? long.MaxValue);
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
                    MerkleTree.LeafHashOf(leaf.Position, hash), HashMatches: true));
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

}
