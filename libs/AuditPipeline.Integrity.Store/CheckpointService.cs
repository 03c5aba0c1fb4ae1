using System.ComponentModel.DataAnnotations;
using System.Text;
using AuditPipeline.Integrity;
using AuditPipeline.Kafka;
using Confluent.Kafka;
using Npgsql;

namespace AuditPipeline.Integrity.Store;

/// <summary>
/// Configuration section <c>Integrity</c>. The signing key is read from a PEM file or an inline PEM
/// (e.g. from a secret store via an environment variable); it is never logged or echoed.
/// </summary>
public sealed class IntegrityOptions
{
    public const string Section = "Integrity";

    /// <summary>PKCS#8 PEM file of the ECDSA P-256 checkpoint key (auditctl checkpoint keygen makes one).</summary>
    public string? SigningKeyFile { get; set; }

    /// <summary>The same key inline; takes precedence over the file.</summary>
    public string? SigningKeyPem { get; set; }

    /// <summary>Where signed checkpoints are written as files (copy them off the database host); empty: not written.</summary>
    public string? CheckpointDirectory { get; set; }

    /// <summary>Topic checkpoints are published to; empty: not published.</summary>
    public string? CheckpointTopic { get; set; } = Topics.Checkpoints;

    /// <summary>How often the tree projection signs a checkpoint when the log has grown.</summary>
    [Range(1, 86_400)] public int CheckpointIntervalSeconds { get; set; } = 60;

    /// <summary>
    /// Public keys (PEM files, or folders of them) whose checkpoints a service trusts besides its own
    /// signing key's: earlier keys after a rotation. Never read from the database or the data checked.
    /// </summary>
    public string[] TrustedKeyFiles { get; set; } = [];

    public bool HasSigningKey => !string.IsNullOrWhiteSpace(SigningKeyPem) || !string.IsNullOrWhiteSpace(SigningKeyFile);

    /// <summary>The signer's own public key and <see cref="TrustedKeyFiles"/>; null when there is neither.</summary>
    public TrustedKeys? LoadTrustedKeys(CheckpointSigner? signer)
    {
        var own = signer is null ? [] : new[] { signer.PublicKeyPem };
        return TrustedKeyFiles.Length > 0 ? TrustedKeys.Load(TrustedKeyFiles).With(own) : signer is null ? null : TrustedKeys.Pinned(own);
    }

    /// <summary>Loads the signing key; errors name the setting, never the key material.</summary>
    public CheckpointSigner LoadSigner()
    {
        string pem;
        if (!string.IsNullOrWhiteSpace(SigningKeyPem))
        {
            pem = SigningKeyPem;
        }
        else if (!string.IsNullOrWhiteSpace(SigningKeyFile))
        {
            if (!File.Exists(SigningKeyFile))
            {
                throw new InvalidOperationException($"Integrity:SigningKeyFile '{SigningKeyFile}' does not exist (auditctl checkpoint keygen --out <file> makes one).");
            }
            pem = File.ReadAllText(SigningKeyFile);
        }
        else
        {
            throw new InvalidOperationException("No checkpoint signing key: set Integrity:SigningKeyFile (or Integrity:SigningKeyPem).");
        }
        try
        {
            return CheckpointSigner.FromPem(pem);
        }
        catch (Exception ex) when (ex is ArgumentException or System.Security.Cryptography.CryptographicException)
        {
            // The exception text of a PEM import can quote the input: say only where it came from.
            throw new InvalidOperationException($"The checkpoint signing key ({(SigningKeyPem is null ? "Integrity:SigningKeyFile" : "Integrity:SigningKeyPem")}) is not an ECDSA P-256 private key in PEM form.");
        }
    }
}

/// <summary>Somewhere a signed checkpoint goes once it is stored: a directory, a topic.</summary>
public interface ICheckpointSink
{
    Task PublishAsync(CheckpointDocument checkpoint, CancellationToken ct);
}

/// <summary>
/// One file per checkpoint (<c>checkpoint-&lt;size&gt;.json</c>, written atomically) plus the
/// signing keys' public halves under <c>keys/</c>, so the directory alone verifies.
/// </summary>
public sealed class DirectoryCheckpointSink(string directory) : ICheckpointSink
{
    public static string FileName(long size) => $"checkpoint-{size:D12}.json";

    public async Task PublishAsync(CheckpointDocument checkpoint, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.Combine(directory, "keys"));
        if (checkpoint.PublicKeyPem is { } pem)
        {
            await WriteAtomicallyAsync(Path.Combine(directory, "keys", $"{checkpoint.KeyId}.pem"), Encoding.ASCII.GetBytes(pem), ct);
        }
        await WriteAtomicallyAsync(Path.Combine(directory, FileName(checkpoint.Size)), checkpoint.ToJsonBytes(), ct);
    }

    private static async Task WriteAtomicallyAsync(string path, byte[] bytes, CancellationToken ct)
    {
        var temp = path + ".tmp";
        await File.WriteAllBytesAsync(temp, bytes, ct);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Every checkpoint file in a directory, oldest first, and the keys beside them.</summary>
    public static (List<CheckpointDocument> Checkpoints, Dictionary<string, string> Keys) Read(string directory)
    {
        var checkpoints = Directory.EnumerateFiles(directory, "checkpoint-*.json")
            .Order(StringComparer.Ordinal)
            .Select(f => CheckpointDocument.Parse(File.ReadAllBytes(f)))
            .ToList();
        var keys = new Dictionary<string, string>();
        var keyDir = Path.Combine(directory, "keys");
        if (Directory.Exists(keyDir))
        {
            foreach (var file in Directory.EnumerateFiles(keyDir, "*.pem"))
            {
                keys[Path.GetFileNameWithoutExtension(file)] = File.ReadAllText(file);
            }
        }
        foreach (var c in checkpoints.Where(c => c.PublicKeyPem is not null))
        {
            keys.TryAdd(c.KeyId, c.PublicKeyPem!);
        }
        return (checkpoints, keys);
    }
}

/// <summary>The checkpoints topic: key = the log size, value = the checkpoint document.</summary>
public sealed class KafkaCheckpointSink : ICheckpointSink, IDisposable
{
    private readonly IProducer<string, byte[]> _producer;
    private readonly string _topic;

    public KafkaCheckpointSink(KafkaOptions kafka, string topic)
    {
        _topic = topic;
        _producer = new ProducerBuilder<string, byte[]>(kafka.Apply(new ProducerConfig
        {
            BootstrapServers = kafka.ResolveBootstrapServers(),
            EnableIdempotence = true,
            Acks = Acks.All,
            ClientId = "audit-checkpoints",
        })).Build();
    }

    public async Task PublishAsync(CheckpointDocument checkpoint, CancellationToken ct) =>
        await _producer.ProduceAsync(_topic, new Message<string, byte[]>
        {
            Key = checkpoint.Size.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Value = checkpoint.ToJsonBytes(),
        }, ct);

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
    }
}

/// <summary>The stored tree does not agree with the leaves it covers: nothing may be signed over it.</summary>
public sealed class TreeTamperedException(string message) : Exception(message);

/// <summary>
/// Makes checkpoints: the root of the tree at a log size, signed, stored, then published to every
/// sink. Storing comes first, so a sink that fails can be fed again from the table.
/// A root is signed only once it is rebuilt from what this signer can vouch for: the frontier of
/// the newest checkpoint its own key signed (checked to hash to that signed root) extended with the
/// events' chain hashes since. A Merkle node planted in the table, or a forged checkpoint row, can
/// therefore never get a genuine signature.
/// </summary>
public sealed class CheckpointService(NpgsqlDataSource dataSource, CheckpointSigner signer, IReadOnlyList<ICheckpointSink> sinks, TimeProvider? clock = null, TrustedKeys? earlierKeys = null)
{
    private readonly StoredMerkleTree _tree = new(dataSource);
    private readonly CheckpointLog _log = new(dataSource);

    /// <summary>Signs the tree at <paramref name="size"/> (default: the whole log). If that size is already signed, returns the stored one.</summary>
    public async Task<CheckpointDocument> CreateAsync(long? size, string createdBy, CancellationToken ct)
    {
        var at = size ?? await _tree.LogSizeAsync(ct);
        if (await ExistingAsync(at, ct) is { } existing)
        {
            return existing;
        }
        return await SignAsync(at, await VerifiedRootAsync(at, ct), createdBy, ct);
    }

    /// <summary>
    /// Signs a root the caller computed (the tree projection has it in memory) once it equals the
    /// root rebuilt from vouched-for data, stores it and publishes it.
    /// </summary>
    public async Task<CheckpointDocument> SignAsync(long size, byte[] root, string createdBy, CancellationToken ct)
    {
        var verified = await VerifiedRootAsync(size, ct);
        if (!verified.AsSpan().SequenceEqual(root))
        {
            throw new TreeTamperedException(
                $"the tree root at log size {size} ({Convert.ToHexStringLower(root)}) differs from the root rebuilt from the events ({Convert.ToHexStringLower(verified)}): stored Merkle nodes were altered; not signed");
        }
        var checkpoint = signer.Sign(size, root, (clock ?? TimeProvider.System).GetUtcNow());
        if (!await _log.InsertAsync(checkpoint, signer.PublicKeyPem, createdBy, ct))
        {
            // This size was signed before (or by another signer at the same moment): that one stands.
            return (await ExistingAsync(size, ct))!;
        }
        var document = CheckpointDocument.From(checkpoint, signer.PublicKeyPem);
        foreach (var sink in sinks)
        {
            await sink.PublishAsync(document, ct);
        }
        return document;
    }

    /// <summary>
    /// The root at <paramref name="size"/> from data this signer vouches for: the newest stored
    /// checkpoint at or below it that this signer's key signed, whose frontier (from stored nodes)
    /// must hash to its signed root, then the chain hashes of the events after it.
    /// </summary>
    public async Task<byte[]> VerifiedRootAsync(long size, CancellationToken ct)
    {
        if (size > await _tree.LogSizeAsync(ct))
        {
            throw new ArgumentOutOfRangeException(nameof(size), $"the log holds {await _tree.LogSizeAsync(ct)} events; a tree of {size} cannot be signed");
        }
        var anchor = await TrustedAnchorAsync(size, ct);
        var range = new CompactRange();
        if (anchor is { Size: > 0 } a)
        {
            var parts = CompactRange.Decomposition(a.Size).ToList();
            var nodes = await _tree.NodesAsync(parts, ct);
            range = CompactRange.Restore(a.Size, parts.Select(p => nodes[p]).ToList());
            if (Convert.ToHexStringLower(range.Root()) != a.RootHash)
            {
                throw new TreeTamperedException(
                    $"the stored Merkle nodes below log size {a.Size} do not hash to the root that checkpoint signed: the tree table was altered; not signed");
            }
        }
        await foreach (var (position, chainHash) in StoredMerkleTree.ReadLeavesAsync(dataSource, range.Size + 1, size, ct))
        {
            range.AppendLeaf(StoredMerkleTree.LeafHash(position, chainHash));
        }
        return range.Root();
    }

    /// <summary>The newest checkpoint at or below a size whose signature this signer's own key (or a configured earlier key) verifies.</summary>
    private async Task<Checkpoint?> TrustedAnchorAsync(long size, CancellationToken ct)
    {
        var trusted = earlierKeys?.With([signer.PublicKeyPem]) ?? TrustedKeys.Pinned([signer.PublicKeyPem]);
        var before = size + 1;
        for (var pages = 0; pages < 100; pages++)
        {
            var page = await _log.ListAsync(before, 100, ct);
            foreach (var c in page)
            {
                if (trusted.Find(c.KeyId) is not null && trusted.Verify(c) is null)
                {
                    return c;
                }
            }
            if (page.Count < 100)
            {
                return null;
            }
            before = page[^1].Size;
        }
        return null;
    }

    /// <summary>A checkpoint already stored at this size, if it is genuine (its key's signature verifies).</summary>
    private async Task<CheckpointDocument?> ExistingAsync(long size, CancellationToken ct)
    {
        if (await _log.BySizeAsync(size, ct) is not { } stored)
        {
            return null;
        }
        // Checked with the keys this signer trusts (never the key stored beside the row): a row
        // planted at this size is reported, not handed out as a checkpoint.
        var trusted = earlierKeys?.With([signer.PublicKeyPem]) ?? TrustedKeys.Pinned([signer.PublicKeyPem]);
        if (trusted.Verify(stored) is { } problem)
        {
            throw new TreeTamperedException($"the checkpoint stored at log size {size} does not verify with a trusted key ({problem}): the checkpoint table was altered");
        }
        return CheckpointDocument.From(stored, trusted.Find(stored.KeyId)!.PublicKeyPem);
    }

    /// <summary>The sinks an <see cref="IntegrityOptions"/> asks for (the caller disposes the Kafka one).</summary>
    public static List<ICheckpointSink> SinksFrom(IntegrityOptions options, KafkaOptions? kafka)
    {
        var sinks = new List<ICheckpointSink>();
        if (!string.IsNullOrWhiteSpace(options.CheckpointDirectory))
        {
            sinks.Add(new DirectoryCheckpointSink(options.CheckpointDirectory));
        }
        if (kafka is not null && !string.IsNullOrWhiteSpace(options.CheckpointTopic)
            && (!string.IsNullOrWhiteSpace(kafka.BootstrapServers) || !string.IsNullOrWhiteSpace(kafka.BootstrapFile)))
        {
            sinks.Add(new KafkaCheckpointSink(kafka, options.CheckpointTopic));
        }
        return sinks;
    }
}
