using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using AuditPipeline.Contracts;

namespace AuditPipeline.Integrity.Evidence;

/// <summary>
/// The SOX evidence bundle (docs/integrity.md "Evidence bundles"): a directory of plain files that
/// verifies with nothing but itself. <c>manifest.json</c> lists every other file with its SHA-256
/// and is signed (<c>manifest.sig</c>) by the checkpoint key; the events carry their chain hashes;
/// <c>inclusion-proof.jsonl</c> holds the subtrees that, with the events' leaves, rebuild the root
/// of the signed checkpoint.
/// </summary>
public static class BundleFormat
{
    public const string Version = "auditpipeline-evidence-v1";
    public const string Manifest = "manifest.json";
    public const string ManifestSignature = "manifest.sig";
    public const string Checkpoint = "checkpoint.json";
    public const string PublicKey = "public-key.pem";
    public const string Events = "events.jsonl";
    /// <summary>The same lines, gzip-compressed (archive segments).</summary>
    public const string EventsCompressed = "events.jsonl.gz";
    public const string Proof = "inclusion-proof.jsonl";
    public const string WhyAuthorized = "why-authorized.jsonl";
    public const string SummaryHtml = "summary.html";
    public const string SummaryAgents = "summary-agents.csv";
    public const string SummaryOwners = "summary-owners.csv";
    public const string SummaryAlerts = "summary-alerts.csv";
    /// <summary>In an archive segment purged after the retention period: what was removed, when, by whom.</summary>
    public const string PurgeRecord = "purged.json";
    /// <summary>In a purged segment: each event's log position, chain, version and hashes, without its contents.</summary>
    public const string Leaves = "leaves.jsonl.gz";
    /// <summary>What purging removes: everything that holds event contents.</summary>
    public static readonly IReadOnlyList<string> PurgedFiles = [EventsCompressed, Events, WhyAuthorized, SummaryHtml, SummaryAgents, SummaryOwners, SummaryAlerts];

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>recorded_at as stored: microseconds, UTC, always six digits, so it round-trips exactly.</summary>
    public const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

    /// <summary>
    /// One event line, fields in this fixed order, the stored canonical payload last and verbatim:
    /// <c>{"position":p,"stream":"…","version":v,"eventId":"…","eventType":"…","recordedAt":"…","prevHash":"…","hash":"…","event":{…}}</c>.
    /// </summary>
    public static void WriteEventLine(IBufferWriter<byte> output, StoredEvent e)
    {
        using (var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("position", e.GlobalSeq);
            writer.WriteString("stream", e.StreamId);
            writer.WriteNumber("version", e.Version);
            writer.WriteString("eventId", e.EventId);
            writer.WriteString("eventType", e.EventType);
            writer.WriteString("recordedAt", e.RecordedAt.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture));
            writer.WriteString("prevHash", Convert.ToHexStringLower(e.PrevHash));
            writer.WriteString("hash", Convert.ToHexStringLower(e.Hash));
            writer.WritePropertyName("event");
            writer.Flush();
        }
        // The payload is the exact stored bytes (what the chain hash covers), never re-encoded.
        output.Write(e.Payload);
        output.Write("}\n"u8);
    }

    /// <summary>Signs the manifest's exact bytes (ECDSA P-256, SHA-256, base64).</summary>
    public static string SignManifest(ECDsa key, byte[] manifest) => Convert.ToBase64String(key.SignData(manifest, HashAlgorithmName.SHA256));

    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);
}

public sealed record BundleManifest
{
    public required string Format { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required string CreatedBy { get; init; }
    public required DateTimeOffset From { get; init; }
    public required DateTimeOffset To { get; init; }
    public IReadOnlyList<string> Agents { get; init; } = [];
    public IReadOnlyList<string> Owners { get; init; } = [];
    public required ManifestCheckpoint Checkpoint { get; init; }
    public required long EventCount { get; init; }
    /// <summary>Each chain's runs of consecutive versions in the bundle: dropping an event at a run's edge changes these.</summary>
    public required IReadOnlyList<ChainSegment> Segments { get; init; }
    public required IReadOnlyList<ManifestFile> Files { get; init; }
    /// <summary>For an archive segment, the sealed month (yyyy-MM) it holds; null for an evidence bundle.</summary>
    public string? SealedMonth { get; init; }
}

/// <summary>
/// Written when an archive segment is purged (its month passed the retention period). Unsigned on
/// purpose: it can only excuse the absence of the files it lists; the chain hashes kept in
/// <see cref="BundleFormat.Leaves"/> are still proven by rebuilding the signed checkpoint's root.
/// </summary>
public sealed record PurgeRecord(string Month, DateTimeOffset PurgedAt, string PurgedBy, IReadOnlyList<string> Removed, string Reason);

/// <summary>One line of <see cref="BundleFormat.Leaves"/>.</summary>
public sealed record LeafLine(long Position, string Stream, long Version, Guid EventId, string PrevHash, string Hash);

public sealed record ManifestCheckpoint(long Size, string RootHash, string KeyId);

public sealed record ManifestFile(string Path, string Sha256, long Bytes);

/// <summary>Versions first..last of one chain, with the hash before the first (its anchor) and the last hash.</summary>
public sealed record ChainSegment(string Stream, long FirstVersion, long LastVersion, string AnchorHash, string LastHash);

/// <summary>One node of the batched inclusion proof: the subtree of leaves [index·2^level, (index+1)·2^level).</summary>
public sealed record ProofNode(int Level, long Index, string Hash);
