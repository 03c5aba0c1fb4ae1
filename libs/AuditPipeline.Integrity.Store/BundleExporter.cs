using AuditPipeline.Access;
using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity;
using AuditPipeline.Integrity.Evidence;
using Npgsql;
using NpgsqlTypes;

namespace AuditPipeline.Integrity.Store;

/// <summary>What to put in a bundle: events recorded in [From, To), all of them or those of some agents/owners.</summary>
public sealed record ExportRequest(DateTimeOffset From, DateTimeOffset To, IReadOnlyList<string> Agents, IReadOnlyList<string> Owners, string CreatedBy)
{
    /// <summary>Write events.jsonl.gz instead of events.jsonl (archive segments).</summary>
    public bool CompressEvents { get; init; }
    /// <summary>Set for an archive segment: the month (yyyy-MM) it seals.</summary>
    public string? SealedMonth { get; init; }
}

public sealed record ExportProgress(long Events, long Total);

public sealed record ExportResult(string Directory, long Events, CheckpointDocument Checkpoint, long Bytes);

/// <summary>
/// Writes an evidence bundle by streaming the store page by page: memory holds one page of events,
/// the summary's per-agent and per-incident rows and the chain segments, never the whole range.
/// A fresh checkpoint is signed at the start and the bundle proves every event against it. The
/// bundle is written to "&lt;dir&gt;.partial" and renamed when complete, so a failed export never
/// looks like a finished one.
/// </summary>
public sealed class BundleExporter(NpgsqlDataSource dataSource, CheckpointService checkpoints, CheckpointSigner signer)
{
    private const int PageSize = 5000;
    private readonly StoredMerkleTree _tree = new(dataSource);

    public async Task<ExportResult> ExportAsync(ExportRequest request, string directory, IProgress<ExportProgress>? progress, CancellationToken ct)
    {
        if (request.To <= request.From)
        {
            throw new ArgumentException("the range is empty: --to must be after --from");
        }
        if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
        {
            throw new IOException($"{directory} exists and is not empty; choose a new folder for the bundle");
        }
        var partial = directory.TrimEnd('/') + ".partial";
        if (Directory.Exists(partial))
        {
            Directory.Delete(partial, recursive: true);
        }
        Directory.CreateDirectory(partial);

        var agents = await SelectedAgentsAsync(request, ct);
        var all = request.Agents.Count == 0 && request.Owners.Count == 0;
        var checkpoint = await checkpoints.CreateAsync(null, request.CreatedBy, ct);
        var total = await CountAsync(request, agents, all, checkpoint.Size, ct);
        progress?.Report(new ExportProgress(0, total));

        var summary = new BundleSummary();
        var segments = new Dictionary<string, SegmentBuilder>(StringComparer.Ordinal);
        var closedSegments = new List<ChainSegment>();
        long count = 0, nextLeaf = 0; // leaves [0, nextLeaf) are covered by events or proof nodes written so far
        var eventsFile = request.CompressEvents ? BundleFormat.EventsCompressed : BundleFormat.Events;
        using (var events = new BufferedFile(Path.Combine(partial, eventsFile), request.CompressEvents))
        using (var proof = new BufferedFile(Path.Combine(partial, BundleFormat.Proof)))
        using (var why = new BufferedFile(Path.Combine(partial, BundleFormat.WhyAuthorized)))
        {
            long after = 0;
            while (true)
            {
                var page = await ReadPageAsync(request, agents, all, checkpoint.Size, after, ct);
                if (page.Count == 0)
                {
                    break;
                }
                var gaps = new List<(int Level, long Index)>();
                foreach (var e in page)
                {
                    gaps.AddRange(MerkleProofBuilder.Tiling(nextLeaf, e.GlobalSeq - 1));
                    nextLeaf = e.GlobalSeq;
                }
                await WriteProofNodesAsync(proof, gaps, ct);
                foreach (var e in page)
                {
                    BundleFormat.WriteEventLine(events.Buffer, e);
                    Track(segments, closedSegments, e);
                    Summarize(summary, why.Buffer, e);
                }
                events.Flush();
                why.Flush();
                count += page.Count;
                after = page[^1].GlobalSeq;
                progress?.Report(new ExportProgress(count, Math.Max(total, count)));
            }
            await WriteProofNodesAsync(proof, MerkleProofBuilder.Tiling(nextLeaf, checkpoint.Size).ToList(), ct);
        }
        closedSegments.AddRange(segments.Values.Select(s => s.Build()));

        var manifestBase = new BundleManifest
        {
            Format = BundleFormat.Version,
            CreatedAt = DateTimeOffset.UtcNow,
            CreatedBy = request.CreatedBy,
            From = request.From,
            To = request.To,
            Agents = request.Agents,
            Owners = request.Owners,
            Checkpoint = new ManifestCheckpoint(checkpoint.Size, checkpoint.RootHash, checkpoint.KeyId),
            EventCount = count,
            SealedMonth = request.SealedMonth,
            Segments = closedSegments.OrderBy(s => s.Stream, StringComparer.Ordinal).ThenBy(s => s.FirstVersion).ToList(),
            Files = [],
        };
        await File.WriteAllTextAsync(Path.Combine(partial, BundleFormat.SummaryHtml), summary.Html(manifestBase), ct);
        await File.WriteAllTextAsync(Path.Combine(partial, BundleFormat.SummaryAgents), summary.AgentsCsv(), ct);
        await File.WriteAllTextAsync(Path.Combine(partial, BundleFormat.SummaryOwners), summary.OwnersCsv(), ct);
        await File.WriteAllTextAsync(Path.Combine(partial, BundleFormat.SummaryAlerts), summary.AlertsCsv(), ct);
        await File.WriteAllBytesAsync(Path.Combine(partial, BundleFormat.Checkpoint), checkpoint.ToJsonBytes(), ct);
        await File.WriteAllTextAsync(Path.Combine(partial, BundleFormat.PublicKey), checkpoint.PublicKeyPem ?? signer.PublicKeyPem, ct);

        var files = new List<ManifestFile>();
        foreach (var name in new[]
                 {
                     eventsFile, BundleFormat.Proof, BundleFormat.WhyAuthorized, BundleFormat.Checkpoint, BundleFormat.PublicKey,
                     BundleFormat.SummaryHtml, BundleFormat.SummaryAgents, BundleFormat.SummaryOwners, BundleFormat.SummaryAlerts,
                 })
        {
            files.Add(await DescribeAsync(partial, name, ct));
        }
        var manifest = JsonSerializer.SerializeToUtf8Bytes(manifestBase with { Files = files }, BundleFormat.Json);
        await File.WriteAllBytesAsync(Path.Combine(partial, BundleFormat.Manifest), manifest, ct);
        await File.WriteAllTextAsync(Path.Combine(partial, BundleFormat.ManifestSignature), signer.SignDocument(manifest), ct);

        if (Directory.Exists(directory))
        {
            Directory.Delete(directory);
        }
        Directory.Move(partial, directory);
        return new ExportResult(directory, count, checkpoint, files.Sum(f => f.Bytes) + manifest.Length);
    }

    private async Task<List<string>> SelectedAgentsAsync(ExportRequest request, CancellationToken ct)
    {
        var agents = new SortedSet<string>(request.Agents, StringComparer.Ordinal);
        if (request.Owners.Count > 0)
        {
            await using var cmd = dataSource.CreateCommand(AccessSql.AgentsOfOwners);
            cmd.Parameters.Add(new NpgsqlParameter("owners", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = request.Owners.ToArray() });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                agents.Add(reader.GetString(0));
            }
        }
        return [.. agents];
    }

    private void Bind(NpgsqlCommand cmd, ExportRequest request, List<string> agents, bool all, long maxSeq)
    {
        cmd.Parameters.AddWithValue("from", request.From);
        cmd.Parameters.AddWithValue("to", request.To);
        cmd.Parameters.AddWithValue("max_seq", maxSeq);
        cmd.Parameters.AddWithValue("all_streams", all);
        cmd.Parameters.Add(new NpgsqlParameter("agents", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = agents.ToArray() });
    }

    private async Task<long> CountAsync(ExportRequest request, List<string> agents, bool all, long maxSeq, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(IntegritySql.ExportCount);
        Bind(cmd, request, agents, all, maxSeq);
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private async Task<List<StoredEvent>> ReadPageAsync(ExportRequest request, List<string> agents, bool all, long maxSeq, long after, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(IntegritySql.ExportEventsPage);
        Bind(cmd, request, agents, all, maxSeq);
        cmd.Parameters.AddWithValue("after", after);
        cmd.Parameters.AddWithValue("limit", PageSize);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var page = new List<StoredEvent>(PageSize);
        while (await reader.ReadAsync(ct))
        {
            page.Add(new StoredEvent(
                reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetGuid(3), reader.GetString(4),
                reader.GetFieldValue<DateTimeOffset>(5), reader.GetFieldValue<DateTimeOffset>(6),
                Encoding.UTF8.GetBytes(reader.GetString(7)), reader.GetFieldValue<byte[]>(8), reader.GetFieldValue<byte[]>(9)));
        }
        return page;
    }

    /// <summary>The subtrees covering leaves that are not in the bundle, left to right.</summary>
    private async Task WriteProofNodesAsync(BufferedFile proof, List<(int Level, long Index)> nodes, CancellationToken ct)
    {
        if (nodes.Count == 0)
        {
            return;
        }
        var hashes = await _tree.NodesAsync(nodes, ct);
        foreach (var (level, index) in nodes)
        {
            using (var writer = new Utf8JsonWriter(proof.Buffer))
            {
                JsonSerializer.Serialize(writer, new ProofNode(level, index, Convert.ToHexStringLower(hashes[(level, index)])), ProofJson);
            }
            proof.Buffer.Write("\n"u8);
        }
        proof.Flush();
    }

    private static readonly JsonSerializerOptions ProofJson = new(JsonSerializerDefaults.Web);

    private static void Track(Dictionary<string, SegmentBuilder> open, List<ChainSegment> closed, StoredEvent e)
    {
        if (open.TryGetValue(e.StreamId, out var segment) && segment.Last + 1 == e.Version)
        {
            segment.Extend(e);
            return;
        }
        if (segment is not null)
        {
            closed.Add(segment.Build());
        }
        open[e.StreamId] = new SegmentBuilder(e);
    }

    private static void Summarize(BundleSummary summary, ArrayBufferWriter<byte> why, StoredEvent e)
    {
        summary.CountEvent(e.EventType);
        switch (e.EventType)
        {
            case AgentActionOccurred.TypeName:
                var action = ContractJson.Deserialize(e.Payload);
                summary.AddAction(action);
                using (var writer = new Utf8JsonWriter(why))
                {
                    JsonSerializer.Serialize(writer, new WhyLine(e.EventId, e.GlobalSeq, action.Agent.Id, WireNames.Of(action.Authorization.Decision),
                        Convert.ToHexStringLower(e.Hash), DelegationPath.Of(action)), ProofJson);
                }
                why.Write("\n"u8);
                break;
            case AgentAlert.TypeName:
                summary.AddAlert(ContractJson.DeserializeAlert(e.Payload));
                break;
        }
    }

    private static async Task<ManifestFile> DescribeAsync(string directory, string name, CancellationToken ct)
    {
        var path = Path.Combine(directory, name);
        await using var stream = File.OpenRead(path);
        var hash = await SHA256.HashDataAsync(stream, ct);
        return new ManifestFile(name, Convert.ToHexStringLower(hash), stream.Length);
    }

    private sealed record WhyLine(Guid EventId, long Position, string AgentId, string Decision, string Hash, IReadOnlyList<DelegationLink> Path);

    private sealed class SegmentBuilder(StoredEvent first)
    {
        private readonly string _anchor = Convert.ToHexStringLower(first.PrevHash);
        private byte[] _lastHash = first.Hash;
        public long Last { get; private set; } = first.Version;

        public void Extend(StoredEvent e)
        {
            Last = e.Version;
            _lastHash = e.Hash;
        }

        public ChainSegment Build() => new(first.StreamId, first.Version, Last, _anchor, Convert.ToHexStringLower(_lastHash));
    }

    /// <summary>A file written a page at a time through a reusable buffer (hashed for the manifest once complete).</summary>
    private sealed class BufferedFile(string path, bool compress = false) : IDisposable
    {
        private readonly Stream _file = compress
            ? new System.IO.Compression.GZipStream(new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16), System.IO.Compression.CompressionLevel.Optimal)
            : new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        public ArrayBufferWriter<byte> Buffer { get; } = new(1 << 20);

        public void Flush()
        {
            _file.Write(Buffer.WrittenSpan);
            Buffer.ResetWrittenCount();
        }

        public void Dispose()
        {
            Flush();
            _file.Dispose();
        }
    }
}
