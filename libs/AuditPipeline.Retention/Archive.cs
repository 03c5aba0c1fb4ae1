using AuditPipeline.Contracts;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using AuditPipeline.Integrity;
using AuditPipeline.Integrity.Evidence;

namespace AuditPipeline.Retention;

/// <summary>One sealed month in the archive index.</summary>
public sealed record ArchivedSegment(string Month, string Path, string ManifestSha256, long Events, long CheckpointSize)
{
    /// <summary>When the segment's event contents were purged (past the retention period); its chain hashes remain.</summary>
    public DateTimeOffset? PurgedAt { get; init; }
}

/// <summary>
/// The archive's object-store-shaped layout: <c>segments/yyyy/MM/</c> holds one sealed month as an
/// evidence bundle with gzip-compressed events, and <c>index.json</c> lists every segment with its
/// manifest's SHA-256. Nothing in it needs a database to verify; sync the whole folder to
/// S3-compatible storage (write-once buckets) as it is.
/// </summary>
public sealed class ArchiveLayout(string root)
{
    public const string IndexFile = "index.json";

    public string Root { get; } = root;

    public static string MonthKey(DateOnly month) => month.ToString("yyyy-MM", CultureInfo.InvariantCulture);

    public static DateOnly ParseMonth(string text) =>
        DateOnly.TryParseExact(text + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var month)
            ? month
            : throw new ArgumentException($"'{text}' is not a month (yyyy-MM)");

    public string RelativeSegment(DateOnly month) => $"segments/{month:yyyy}/{month:MM}";

    public string SegmentDirectory(DateOnly month) => System.IO.Path.Combine(Root, "segments", month.ToString("yyyy", CultureInfo.InvariantCulture), month.ToString("MM", CultureInfo.InvariantCulture));

    /// <summary>
    /// The archive's index. Every entry must name a month and sit exactly where that month's segment
    /// belongs: an index edited to point elsewhere (another month's segment, a path outside the
    /// archive) is refused, never followed.
    /// </summary>
    public List<ArchivedSegment> ReadIndex()
    {
        var path = System.IO.Path.Combine(Root, IndexFile);
        var index = File.Exists(path) ? JsonSerializer.Deserialize<List<ArchivedSegment>>(File.ReadAllBytes(path), BundleFormat.Json) ?? [] : [];
        foreach (var entry in index)
        {
            if (entry?.Month is null || !DateOnly.TryParseExact(entry.Month, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.None, out var month)
                || entry.Path != RelativeSegment(month))
            {
                throw new InvalidDataException($"{IndexFile}: the entry for '{entry?.Month}' points at '{entry?.Path}', not at that month's segment; the index was altered");
            }
        }
        return index;
    }

    public void WriteIndex(IEnumerable<ArchivedSegment> segments)
    {
        Directory.CreateDirectory(Root);
        var path = System.IO.Path.Combine(Root, IndexFile);
        var temp = path + ".tmp";
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(segments.OrderBy(s => s.Month, StringComparer.Ordinal).ToList(), BundleFormat.Json));
        File.Move(temp, path, overwrite: true);
    }

    public static string ManifestSha256(string segmentDirectory) =>
        Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(System.IO.Path.Combine(segmentDirectory, BundleFormat.Manifest))));

    /// <summary>(log position, chain hash) of every archived event, segment by segment in month order, each in log order.</summary>
    public IEnumerable<(long Position, byte[] ChainHash)> ReadLeaves()
    {
        foreach (var segment in ReadIndex().OrderBy(s => s.Month, StringComparer.Ordinal))
        {
            if (segment.PurgedAt is not null)
            {
                foreach (var leaf in ReadPurgedLeaves(System.IO.Path.Combine(Root, segment.Path)))
                {
                    yield return (leaf.Position, Convert.FromHexString(leaf.Hash));
                }
                continue;
            }
            foreach (var line in SegmentLines(System.IO.Path.Combine(Root, segment.Path)))
            {
                var e = Parse(line, segment.Month);
                yield return (e.Position, e.Hash.ToArray());
            }
        }
    }

    /// <summary>Writes a segment's chain hashes (no contents) to <see cref="BundleFormat.Leaves"/>, atomically; returns how many.</summary>
    public static long WriteLeaves(string segmentDirectory)
    {
        var target = System.IO.Path.Combine(segmentDirectory, BundleFormat.Leaves);
        var temp = target + ".tmp";
        long count = 0;
        using (var file = File.Create(temp))
        {
            using (var output = new StreamWriter(new GZipStream(file, CompressionLevel.Optimal, leaveOpen: true)))
            {
                foreach (var line in SegmentLines(segmentDirectory))
                {
                    var e = Parse(line, segmentDirectory);
                    output.WriteLine(JsonSerializer.Serialize(new LeafLine(e.Position, e.Stream, e.Version, e.EventId,
                        Convert.ToHexStringLower(e.PrevHash), Convert.ToHexStringLower(e.Hash)), CompactJson));
                    count++;
                }
            }
            file.Flush(flushToDisk: true); // on disk before the contents it replaces are deleted
        }
        File.Move(temp, target, overwrite: true);
        return count;
    }

    private static readonly JsonSerializerOptions CompactJson = new(BundleFormat.Json) { WriteIndented = false };

    /// <summary>
    /// Every archived event whose contents are still there (purged segments are skipped), in log
    /// order and in batches, as a store subscription would hand them to a projection: what a
    /// projection rebuilt after drops replays before the hot store. OccurredAt is the recorded time
    /// (the lines do not carry it; projections read the payload's).
    /// </summary>
    public IEnumerable<List<StoredEvent>> ReadEventBatches(int batchSize)
    {
        var batch = new List<StoredEvent>(batchSize);
        foreach (var segment in ReadIndex().Where(s => !IsPurged(s)).OrderBy(s => s.Month, StringComparer.Ordinal))
        {
            foreach (var line in SegmentLines(System.IO.Path.Combine(Root, segment.Path)))
            {
                var e = Parse(line, segment.Month);
                batch.Add(new StoredEvent(e.Position, e.Stream, e.Version, e.EventId, e.EventType, e.RecordedAt, e.RecordedAt,
                    e.Payload.ToArray(), e.PrevHash.ToArray(), e.Hash.ToArray()));
                if (batch.Count == batchSize)
                {
                    yield return batch;
                    batch = new List<StoredEvent>(batchSize);
                }
            }
        }
        if (batch.Count > 0)
        {
            yield return batch;
        }
    }

    /// <summary>The chains in a segment and the owners its action events name (agent.owner), read from its events.</summary>
    public static (HashSet<string> Streams, HashSet<string> Owners) ChainsAndOwners(string segmentDirectory)
    {
        var (streams, owners) = (new HashSet<string>(StringComparer.Ordinal), new HashSet<string>(StringComparer.Ordinal));
        foreach (var line in SegmentLines(segmentDirectory))
        {
            var e = Parse(line, segmentDirectory);
            streams.Add(e.Stream);
            if (e.EventType == AgentActionOccurred.TypeName && ContractJson.Deserialize(e.Payload).Agent.Owner is { } owner)
            {
                owners.Add(owner);
            }
        }
        return (streams, owners);
    }

    /// <summary>The lines of a segment's <see cref="BundleFormat.EventsCompressed"/>, as UTF-8 bytes, in log order.</summary>
    private static IEnumerable<byte[]> SegmentLines(string segmentDirectory)
    {
        using var reader = new StreamReader(new GZipStream(File.OpenRead(System.IO.Path.Combine(segmentDirectory, BundleFormat.EventsCompressed)), CompressionMode.Decompress));
        while (reader.ReadLine() is { } text)
        {
            yield return System.Text.Encoding.UTF8.GetBytes(text);
        }
    }

    /// <summary>
    /// One archived line through the bundle's strict parser (header fields only, the payload is
    /// never parsed), or an error naming the segment.
    /// </summary>
    private static EventLine Parse(byte[] line, string segment) =>
        EventLine.TryParse(line, out var e, out var problem) ? e
            : throw new InvalidDataException($"segment {segment}: {problem} (run auditctl archive verify)");

    /// <summary>Purged in the index or by its purge record (a purge interrupted before the index was updated).</summary>
    public bool IsPurged(ArchivedSegment segment) =>
        segment.PurgedAt is not null || File.Exists(System.IO.Path.Combine(Root, segment.Path, BundleFormat.PurgeRecord));

    /// <summary>The kept chain hashes of a purged segment, in log order.</summary>
    public static IEnumerable<LeafLine> ReadPurgedLeaves(string segmentDirectory)
    {
        using var reader = new StreamReader(new GZipStream(File.OpenRead(System.IO.Path.Combine(segmentDirectory, BundleFormat.Leaves)), CompressionMode.Decompress));
        while (reader.ReadLine() is { } line)
        {
            yield return JsonSerializer.Deserialize<LeafLine>(line, BundleFormat.Json) ?? throw new InvalidDataException($"{segmentDirectory}: a null leaf line");
        }
    }

    /// <summary>
    /// An archived event of a known month (the store's id table says which), with the hash its chain
    /// says must come before it: the previous line of the same chain in the segment, or the chain's
    /// anchor in the segment's signed manifest. Only that month's segment is opened.
    /// </summary>
    public ArchivedEvent? FindEvent(Guid eventId, string month)
    {
        var needle = System.Text.Encoding.UTF8.GetBytes($"\"eventId\":\"{eventId}\"");
        if (ReadIndex().FirstOrDefault(s => s.Month == month) is not { } segment || IsPurged(segment))
        {
            return null; // a purged segment's contents are not evidence any more, even if a copy is left
        }
        var dir = System.IO.Path.Combine(Root, segment.Path);
        if (!File.Exists(System.IO.Path.Combine(dir, BundleFormat.EventsCompressed)))
        {
            return null;
        }
        var lastHash = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var line in SegmentLines(dir))
        {
            var e = Parse(line, segment.Month);
            // The id must be the line's own, not text somewhere in another event's payload.
            if (line.AsSpan().IndexOf(needle) < 0 || e.EventId != eventId)
            {
                lastHash[e.Stream] = e.Hash.ToArray();
                continue;
            }
            var expected = lastHash.TryGetValue(e.Stream, out var previous) ? previous : AnchorOf(dir, e.Stream, e.Version);
            return new ArchivedEvent(segment.Month, e.Position, e.Stream, e.Version, e.EventId, e.EventType, e.RecordedAt,
                e.PrevHash.ToArray(), e.Hash.ToArray(), e.Payload.ToArray(), expected);
        }
        return null;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Dir, string Manifest, long Length, DateTime Written, string Keys), string?> VerifiedSegments = new();

    /// <summary>
    /// Why a month's segment cannot be trusted (null: it verifies): the whole segment checked as an
    /// evidence bundle against the trusted key (signed manifest, every file's hash, the signed
    /// checkpoint, every chain link and inclusion), and its manifest against the index. The result is
    /// kept for as long as the manifest and the events file are unchanged.
    /// </summary>
    public async Task<string?> SegmentProblemAsync(string month, TrustedKeys trusted, CancellationToken ct)
    {
        if (ReadIndex().FirstOrDefault(s => s.Month == month) is not { } segment)
        {
            return $"the archive index has no segment for {month}";
        }
        var dir = System.IO.Path.Combine(Root, segment.Path);
        var events = new FileInfo(System.IO.Path.Combine(dir, BundleFormat.EventsCompressed));
        if (!events.Exists || !File.Exists(System.IO.Path.Combine(dir, BundleFormat.Manifest)))
        {
            return $"segment {month} is incomplete";
        }
        var manifest = ManifestSha256(dir);
        if (manifest != segment.ManifestSha256)
        {
            return $"segment {month}: its manifest's SHA-256 differs from the archive index (the segment was replaced)";
        }
        var key = (dir, manifest, events.Length, events.LastWriteTimeUtc, string.Join(",", trusted.KeyIds.Order(StringComparer.Ordinal)));
        if (VerifiedSegments.TryGetValue(key, out var known))
        {
            return known;
        }
        var report = await BundleVerifier.VerifyAsync(dir, trusted, ct: ct);
        var problem = report.Ok ? null : $"segment {month} does not verify: {string.Join("; ", report.Problems.Take(3))}";
        VerifiedSegments.TryAdd(key, problem);
        return problem;
    }

    private static byte[]? AnchorOf(string segmentDirectory, string stream, long version)
    {
        var manifest = JsonSerializer.Deserialize<BundleManifest>(File.ReadAllBytes(System.IO.Path.Combine(segmentDirectory, BundleFormat.Manifest)), BundleFormat.Json);
        return manifest?.Segments.FirstOrDefault(s => s.Stream == stream && s.FirstVersion == version) is { } run ? Convert.FromHexString(run.AnchorHash) : null;
    }
}

/// <summary>An event as archived, and the hash its chain says precedes it (null: not determinable from the segment).</summary>
public sealed record ArchivedEvent(string Month, long Position, string Stream, long Version, Guid EventId, string EventType, DateTimeOffset RecordedAt,
    byte[] PrevHash, byte[] Hash, byte[] Payload, byte[]? ExpectedPrevHash);

/// <summary>What verifying the archive found, and where each chain ends in it.</summary>
public sealed class ArchiveReport
{
    public List<string> Problems { get; } = [];
    public int Segments { get; set; }
    /// <summary>Segments whose contents were purged after the retention period (their chain hashes still verify).</summary>
    public int Purged { get; set; }
    public long Events { get; set; }
    public Dictionary<string, (long Version, byte[] Hash)> ChainTails { get; } = new(StringComparer.Ordinal);
    /// <summary>Per chain, the hash at the end of each archived segment: where a stored chain may resume.</summary>
    public Dictionary<string, Dictionary<long, byte[]>> SegmentEnds { get; } = new(StringComparer.Ordinal);
    public bool Ok => Problems.Count == 0;
}

/// <summary>
/// Verifies the whole archive offline: every segment as an evidence bundle (manifest signature and
/// files, chains, inclusion in its signed checkpoint), every index entry against its segment's
/// manifest, and every chain's continuity from one month's segment to the next.
/// </summary>
public static class ArchiveVerifier
{
    public static async Task<ArchiveReport> VerifyAsync(string root, string? trustedPublicKeyPem = null, DateTimeOffset? now = null, CancellationToken ct = default)
    {
        var layout = new ArchiveLayout(root);
        var report = new ArchiveReport();
        // Unchanged for now: without a key, segments are checked against their own public keys (archive verify --trusted-key pins).
        var trust = trustedPublicKeyPem is null ? TrustedKeys.SelfSigned() : TrustedKeys.Pinned([trustedPublicKeyPem]);
        List<ArchivedSegment> index;
        try
        {
            index = layout.ReadIndex();
        }
        catch (InvalidDataException ex)
        {
            report.Problems.Add($"{root}: {ex.Message}");
            return report;
        }
        if (index.Count == 0)
        {
            report.Problems.Add($"{root}: no archive index ({ArchiveLayout.IndexFile}) or no segments in it");
            return report;
        }
        foreach (var entry in index.OrderBy(s => s.Month, StringComparer.Ordinal))
        {
            var dir = Path.Combine(root, entry.Path);
            var name = $"segment {entry.Month}";
            if (!Directory.Exists(dir))
            {
                report.Problems.Add($"{name}: missing ({entry.Path})");
                continue;
            }
            var bundle = await BundleVerifier.VerifyAsync(dir, trust, now: now, ct: ct);
            report.Problems.AddRange(bundle.Problems.Select(p => $"{name}: {p}"));
            report.Segments++;
            report.Events += bundle.Events;
            if (bundle.Purged is { } purge)
            {
                report.Purged++;
                if (entry.PurgedAt is null)
                {
                    report.Problems.Add($"{name}: its contents were removed ({BundleFormat.PurgeRecord}) but the archive index does not record a purge");
                }
                else if (purge.PurgedAt < new RetentionPolicy { Years = RetentionPolicy.MinimumYears }.ExpiresAt(ArchiveLayout.ParseMonth(entry.Month)))
                {
                    report.Problems.Add($"{name}: purged at {purge.PurgedAt:yyyy-MM-dd}, before {RetentionPolicy.MinimumYears} years had passed");
                }
            }
            else if (entry.PurgedAt is not null)
            {
                report.Problems.Add($"{name}: the index records a purge but the segment has no {BundleFormat.PurgeRecord}");
            }
            if (!File.Exists(Path.Combine(dir, BundleFormat.Manifest)))
            {
                continue;
            }
            if (ArchiveLayout.ManifestSha256(dir) != entry.ManifestSha256)
            {
                report.Problems.Add($"{name}: its manifest's SHA-256 differs from the archive index (the segment was replaced)");
            }
            BundleManifest? manifest;
            try
            {
                manifest = JsonSerializer.Deserialize<BundleManifest>(File.ReadAllBytes(Path.Combine(dir, BundleFormat.Manifest)), BundleFormat.Json);
            }
            catch (JsonException)
            {
                continue; // named by the bundle check
            }
            if (manifest?.SealedMonth != entry.Month)
            {
                report.Problems.Add($"{name}: the manifest seals {manifest?.SealedMonth ?? "no month"}, not {entry.Month}");
                continue;
            }
            // Month to month, each chain must continue exactly where it stopped.
            foreach (var segment in manifest.Segments.OrderBy(s => s.Stream, StringComparer.Ordinal).ThenBy(s => s.FirstVersion))
            {
                var anchor = Convert.FromHexString(segment.AnchorHash);
                if (report.ChainTails.TryGetValue(segment.Stream, out var tail))
                {
                    if (segment.FirstVersion != tail.Version + 1 || !anchor.AsSpan().SequenceEqual(tail.Hash))
                    {
                        report.Problems.Add($"{name}: chain '{segment.Stream}' resumes at version {segment.FirstVersion} but the archive before it ends at version {tail.Version} with another hash (the chain is broken between segments)");
                    }
                }
                else if (segment.FirstVersion != 1)
                {
                    report.Problems.Add($"{name}: chain '{segment.Stream}' starts at version {segment.FirstVersion}, but no earlier segment holds versions 1..{segment.FirstVersion - 1}");
                }
                report.ChainTails[segment.Stream] = (segment.LastVersion, Convert.FromHexString(segment.LastHash));
                if (!report.SegmentEnds.TryGetValue(segment.Stream, out var ends))
                {
                    report.SegmentEnds[segment.Stream] = ends = [];
                }
                ends[segment.LastVersion] = Convert.FromHexString(segment.LastHash);
            }
        }
        return report;
    }
}
