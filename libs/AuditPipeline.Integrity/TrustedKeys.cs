using System.Security.Cryptography;

namespace AuditPipeline.Integrity;

/// <summary>One public key a verifier checks signatures with, kept whole (SubjectPublicKeyInfo).</summary>
public sealed record TrustedKey(string KeyId, byte[] SubjectPublicKeyInfo, string PublicKeyPem)
{
    /// <summary>The same key: compared byte for byte, never by the 64-bit key id alone.</summary>
    public bool IsKey(byte[] subjectPublicKeyInfo) => SubjectPublicKeyInfo.AsSpan().SequenceEqual(subjectPublicKeyInfo);
}

/// <summary>
/// The public keys a verifier accepts signatures from. <see cref="Pinned"/> keys come from the
/// verifier's side (files the operator or auditor holds). Keys that travel with the data (a bundle's
/// public-key.pem, a checkpoint folder's keys/, audit.signing_keys) are written by whoever wrote the
/// data, so a forger ships their own key there: they only ever make a <see cref="SelfSigned"/> set,
/// which proves the data is consistent with itself, not who signed it. The key id only picks which
/// key to try; the signature is then checked with that key itself.
/// </summary>
public sealed class TrustedKeys
{
    private readonly Dictionary<string, TrustedKey> _byId;

    private TrustedKeys(bool pinned, IEnumerable<TrustedKey> keys)
    {
        IsPinned = pinned;
        _byId = new Dictionary<string, TrustedKey>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            _byId.TryAdd(key.KeyId, key);
        }
    }

    public bool IsPinned { get; }

    public IReadOnlyCollection<string> KeyIds => _byId.Keys;

    public IReadOnlyCollection<TrustedKey> Keys => _byId.Values;

    /// <summary>These keys and more (a signer's own key added to the configured ones).</summary>
    public TrustedKeys With(IEnumerable<string> publicKeyPems) => Pinned(Keys.Select(k => k.PublicKeyPem).Concat(publicKeyPems));

    /// <summary>Keys the verifier holds itself; each must be an ECDSA P-256 public key in PEM form.</summary>
    public static TrustedKeys Pinned(IEnumerable<string> publicKeyPems)
    {
        var keys = publicKeyPems.Select((pem, i) => Parse(pem) ?? throw new ArgumentException($"trusted key {i + 1} is not an ECDSA P-256 public key in PEM form")).ToList();
        return keys.Count > 0 ? new TrustedKeys(pinned: true, keys) : throw new ArgumentException("no trusted key given");
    }

    /// <summary>
    /// Pinned keys from files: each path is a PEM public key file, or a folder whose every *.pem
    /// file is one (so a rotation adds a file). Errors name the path; nothing is skipped silently.
    /// </summary>
    public static TrustedKeys Load(IEnumerable<string> paths)
    {
        var keys = new List<TrustedKey>();
        foreach (var path in paths)
        {
            var files = Directory.Exists(path) ? Directory.GetFiles(path, "*.pem").Order(StringComparer.Ordinal).ToList()
                : File.Exists(path) ? [path]
                : throw new ArgumentException($"trusted key {path}: no such file or folder");
            if (files.Count == 0)
            {
                throw new ArgumentException($"trusted key folder {path}: holds no *.pem file");
            }
            keys.AddRange(files.Select(f => Parse(File.ReadAllText(f)) ?? throw new ArgumentException($"trusted key {f}: not an ECDSA P-256 public key in PEM form")));
        }
        return keys.Count > 0 ? new TrustedKeys(pinned: true, keys) : throw new ArgumentException("no trusted key given");
    }

    /// <summary>
    /// Keys that came with the data, by key id. Only for a caller that was told explicitly to accept
    /// that (auditctl --accept-self-signed); a key whose id does not match its own key is dropped.
    /// </summary>
    public static TrustedKeys SelfSigned(IReadOnlyDictionary<string, string>? keysShippedWithTheData = null) =>
        new(pinned: false, (keysShippedWithTheData ?? new Dictionary<string, string>())
            .Select(k => Parse(k.Value) is { } key && key.KeyId == k.Key ? key : null).OfType<TrustedKey>());

    public TrustedKey? Find(string keyId) => _byId.GetValueOrDefault(keyId);

    public bool Contains(byte[] subjectPublicKeyInfo) => _byId.Values.Any(k => k.IsKey(subjectPublicKeyInfo));

    /// <summary>Checks a checkpoint's signature with the key it names, if that key is in this set; names what is wrong, or null.</summary>
    public string? Verify(Checkpoint checkpoint) => Find(checkpoint.KeyId) is { } key
        ? CheckpointSigner.Verify(checkpoint, new Dictionary<string, string> { [key.KeyId] = key.PublicKeyPem })
        : IsPinned ? $"signed by key {checkpoint.KeyId}, which is not a trusted key (trusted: {string.Join(", ", KeyIds)})"
        : $"no public key with id {checkpoint.KeyId}";

    /// <summary>An ECDSA P-256 public key from PEM text (text around the PEM block is ignored), or null.</summary>
    public static TrustedKey? Parse(string publicKeyPem)
    {
        if (publicKeyPem.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
        {
            return null; // a private key has no business in a verifier (or in a bundle), even though its public half would do
        }
        try
        {
            using var key = ECDsa.Create();
            key.ImportFromPem(publicKeyPem);
            if (key.KeySize != 256)
            {
                return null;
            }
            var spki = key.ExportSubjectPublicKeyInfo();
            return new TrustedKey(CheckpointSigner.KeyIdOf(spki), spki, key.ExportSubjectPublicKeyInfoPem());
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            return null;
        }
    }
}
