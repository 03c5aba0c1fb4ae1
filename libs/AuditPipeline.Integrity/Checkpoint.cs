using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace AuditPipeline.Integrity;

/// <summary>
/// A signed statement "the log had <see cref="Size"/> events and this Merkle root at this time",
/// like a Certificate Transparency signed tree head. The signed bytes are
/// <see cref="SignedText"/>: a fixed, line-based text, so anyone can rebuild them.
/// </summary>
public sealed record Checkpoint(long Size, string RootHash, DateTimeOffset At, string KeyId, string Signature)
{
    public const string Origin = "auditpipeline-checkpoint-v1";

    /// <summary>origin, size, root (hex), time (RFC 3339, UTC, seconds), key id, one per line.</summary>
    public static byte[] SignedText(long size, string rootHash, DateTimeOffset at, string keyId) => Encoding.UTF8.GetBytes(
        $"{Origin}\n{size.ToString(CultureInfo.InvariantCulture)}\n{rootHash}\n{at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)}\n{keyId}\n");
}

/// <summary>
/// Signs checkpoints with an ECDSA P-256 key (BCL crypto, SHA-256, IEEE P1363 signature) and
/// verifies them against public keys. The key id is the first 16 hex digits of the SHA-256 of the
/// public key (SubjectPublicKeyInfo), so old checkpoints stay verifiable after a rotation as long
/// as the old public key is kept. Private keys come from configuration or a PEM file and are
/// never logged.
/// </summary>
public sealed class CheckpointSigner : IDisposable
{
    private readonly ECDsa _key;

    public CheckpointSigner(ECDsa key)
    {
        if (key.KeySize != 256)
        {
            throw new ArgumentException("Checkpoint keys must be ECDSA P-256.", nameof(key));
        }
        _key = key;
        PublicKeyPem = key.ExportSubjectPublicKeyInfoPem();
        KeyId = KeyIdOf(key.ExportSubjectPublicKeyInfo());
    }

    public string KeyId { get; }
    public string PublicKeyPem { get; }

    public static CheckpointSigner FromPem(string privateKeyPem)
    {
        var key = ECDsa.Create();
        key.ImportFromPem(privateKeyPem);
        return new CheckpointSigner(key);
    }

    public static CheckpointSigner Generate() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    public string ExportPrivateKeyPem() => _key.ExportPkcs8PrivateKeyPem();

    public Checkpoint Sign(long size, byte[] root, DateTimeOffset at)
    {
        var rootHex = Convert.ToHexStringLower(root);
        var when = DateTimeOffset.FromUnixTimeSeconds(at.ToUnixTimeSeconds());
        var signature = _key.SignData(Checkpoint.SignedText(size, rootHex, when, KeyId), HashAlgorithmName.SHA256);
        return new Checkpoint(size, rootHex, when, KeyId, Convert.ToBase64String(signature));
    }

    /// <summary>Checks a checkpoint against the public keys known by id; names what is wrong, or null when it verifies.</summary>
    public static string? Verify(Checkpoint checkpoint, IReadOnlyDictionary<string, string> publicKeysPemById)
    {
        if (!publicKeysPemById.TryGetValue(checkpoint.KeyId, out var pem))
        {
            return $"no public key with id {checkpoint.KeyId}";
        }
        using var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            return $"the public key given for {checkpoint.KeyId} is not a PEM ECDSA key";
        }
        if (KeyIdOf(key.ExportSubjectPublicKeyInfo()) != checkpoint.KeyId)
        {
            return $"the public key given for {checkpoint.KeyId} has another id";
        }
        if (StrictBase64(checkpoint.Signature) is not { } signature)
        {
            return "the signature is not canonical base64";
        }
        return key.VerifyData(Checkpoint.SignedText(checkpoint.Size, checkpoint.RootHash, checkpoint.At, checkpoint.KeyId), signature, HashAlgorithmName.SHA256)
            ? null
            : "the signature does not match the checkpoint";
    }

    /// <summary>Signs a document's exact bytes (an evidence manifest) with the checkpoint key: base64 of an IEEE P1363 ECDSA signature.</summary>
    public string SignDocument(byte[] document) => Convert.ToBase64String(_key.SignData(document, HashAlgorithmName.SHA256));

    /// <summary>Checks <see cref="SignDocument"/>'s signature with a public key; names what is wrong, or null.</summary>
    public static string? VerifyDocument(string publicKeyPem, byte[] document, string signatureBase64)
    {
        if (StrictBase64(signatureBase64.Trim()) is not { } signature)
        {
            return "the signature is not canonical base64";
        }
        using var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(publicKeyPem);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            return "the public key is not a PEM ECDSA key";
        }
        return key.VerifyData(document, signature, HashAlgorithmName.SHA256) ? null : "the signature does not match";
    }

    /// <summary>
    /// Base64 that re-encodes to the same text: the unused bits of the last character are not
    /// checked by the decoder, so without this a changed character could leave the bytes unchanged.
    /// </summary>
    public static byte[]? StrictBase64(string text)
    {
        try
        {
            var bytes = Convert.FromBase64String(text);
            return Convert.ToBase64String(bytes) == text ? bytes : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Key id of a public key in PEM form, or null if it is not one.</summary>
    public static string? KeyIdOfPem(string publicKeyPem)
    {
        try
        {
            using var key = ECDsa.Create();
            key.ImportFromPem(publicKeyPem);
            return KeyIdOf(key.ExportSubjectPublicKeyInfo());
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            return null;
        }
    }

    public static string KeyIdOf(byte[] subjectPublicKeyInfo) => Convert.ToHexStringLower(SHA256.HashData(subjectPublicKeyInfo))[..16];

    public void Dispose() => _key.Dispose();
}
