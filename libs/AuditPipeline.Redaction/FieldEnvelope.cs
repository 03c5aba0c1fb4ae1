using AuditPipeline.Contracts;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace AuditPipeline.Redaction;

/// <summary>
/// The master key's three derived keys: one wraps subject keys for storage, one makes keyed hashes
/// of field values, one turns subject names into the opaque references the key table is keyed by
/// (so the table names no one once a key is shredded).
/// </summary>
public sealed class RedactionKeys
{
    public const int MasterKeyBytes = 32;
    /// <summary>A subject key: 32 bytes of AES-256 key, then 32 for the synthetic nonces.</summary>
    public const int SubjectKeyBytes = 64;

    private readonly byte[] _wrap;
    private readonly byte[] _hash;
    private readonly byte[] _subject;

    public RedactionKeys(byte[] master)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(master.Length, MasterKeyBytes, nameof(master));
        _wrap = HKDF.DeriveKey(HashAlgorithmName.SHA256, master, 32, info: "AUDITPIPELINE-REDACTION-WRAP-V1"u8.ToArray());
        _hash = HKDF.DeriveKey(HashAlgorithmName.SHA256, master, 32, info: "AUDITPIPELINE-REDACTION-HASH-V1"u8.ToArray());
        _subject = HKDF.DeriveKey(HashAlgorithmName.SHA256, master, 32, info: "AUDITPIPELINE-REDACTION-SUBJECT-V1"u8.ToArray());
    }

    public byte[] SubjectRef(string subject) => HMACSHA256.HashData(_subject, Encoding.UTF8.GetBytes(subject));

    /// <summary>The keyed hash that replaces a value; list indexes are left out so equal names compare equal anywhere.</summary>
    public string HashValue(string path, string value) =>
        FieldEnvelope.HashedPrefix + Base64Url.EncodeToString(HMACSHA256.HashData(_hash, Encoding.UTF8.GetBytes(FieldEnvelope.FieldOf(path) + "\n" + value)));

    /// <summary>nonce ‖ ciphertext ‖ tag of a subject key under the wrap key, bound to its key id.</summary>
    public byte[] Wrap(Guid keyId, byte[] subjectKey)
    {
        var wrapped = new byte[12 + subjectKey.Length + 16];
        RandomNumberGenerator.Fill(wrapped.AsSpan(0, 12));
        using var aes = new AesGcm(_wrap, 16);
        aes.Encrypt(wrapped.AsSpan(0, 12), subjectKey, wrapped.AsSpan(12, subjectKey.Length), wrapped.AsSpan(12 + subjectKey.Length), keyId.ToByteArray(bigEndian: true));
        return wrapped;
    }

    /// <summary>The subject key, or an error if the stored bytes were changed or belong to another key id.</summary>
    public byte[] Unwrap(Guid keyId, byte[] wrapped)
    {
        if (wrapped.Length != 12 + SubjectKeyBytes + 16)
        {
            throw new CryptographicException($"subject key {keyId:N}: the stored key has the wrong length");
        }
        var key = new byte[SubjectKeyBytes];
        using var aes = new AesGcm(_wrap, 16);
        aes.Decrypt(wrapped.AsSpan(0, 12), wrapped.AsSpan(12, SubjectKeyBytes), wrapped.AsSpan(12 + SubjectKeyBytes), key, keyId.ToByteArray(bigEndian: true));
        return key;
    }
}

/// <summary>
/// How a redacted value is written in place of the original, so the event keeps its schema and
/// its canonical bytes (which are hashed and chained) never change afterwards:
/// <c>enc:v1:&lt;key id&gt;:&lt;base64url nonce ‖ ciphertext ‖ tag&gt;</c> (AES-256-GCM under the
/// subject's key, bound to the event id and the field's path) or <c>hmac:v1:&lt;base64url&gt;</c>.
/// </summary>
public static partial class FieldEnvelope
{
    public const string EncryptedPrefix = ReservedPrefixes.Encrypted;
    public const string HashedPrefix = ReservedPrefixes.Hashed;
    public const string Shredded = "[shredded]";
    public const string Unreadable = "[unreadable]";

    public static bool IsEnvelope(string value) => ReservedPrefixes.IsReserved(value);

    /// <summary>The field a concrete path belongs to: <c>delegation.chain[2].name</c> → <c>delegation.chain[].name</c>.</summary>
    public static string FieldOf(string path) => ListIndex().Replace(path, "[]");

    /// <summary>One-off encryption (tests, tools); ingest keeps a <see cref="SubjectCipher"/> per subject.</summary>
    public static string Encrypt(Guid keyId, byte[] subjectKey, Guid eventId, string path, string plaintext)
    {
        using var cipher = new SubjectCipher(keyId, subjectKey);
        return cipher.Encrypt(eventId, path, plaintext);
    }

    public static bool TryParseEncrypted(string value, out Guid keyId, out byte[] sealedBytes)
    {
        keyId = default;
        sealedBytes = [];
        if (!value.StartsWith(EncryptedPrefix, StringComparison.Ordinal) || value.Length < EncryptedPrefix.Length + 33
            || value[EncryptedPrefix.Length + 32] != ':'
            || !Guid.TryParseExact(value.AsSpan(EncryptedPrefix.Length, 32), "N", out keyId))
        {
            return false;
        }
        try
        {
            sealedBytes = Base64Url.DecodeFromChars(value.AsSpan(EncryptedPrefix.Length + 33));
        }
        catch (FormatException)
        {
            return false;
        }
        return sealedBytes.Length >= 28;
    }

    /// <summary>The plaintext, or null if the value was altered, moved to another event or field, or the key is wrong.</summary>
    public static string? Decrypt(byte[] subjectKey, Guid eventId, string path, byte[] sealedBytes)
    {
        var text = new byte[sealedBytes.Length - 28];
        try
        {
            using var aes = new AesGcm(subjectKey.AsSpan(0, 32), 16);
            aes.Decrypt(sealedBytes.AsSpan(0, 12), sealedBytes.AsSpan(12, text.Length), sealedBytes.AsSpan(12 + text.Length), text, Aad(eventId, path));
            return Encoding.UTF8.GetString(text);
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
    }

    internal static byte[] Aad(Guid eventId, string path) => Encoding.UTF8.GetBytes($"{eventId:N}|{path}");

    [GeneratedRegex(@"\[\d+\]")]
    private static partial Regex ListIndex();
}

/// <summary>
/// One subject key ready to encrypt, its AES-GCM and HMAC contexts set up once (setting one up
/// costs more than encrypting a short field). Not thread-safe: ingest uses it from its write loop only.
/// </summary>
public sealed class SubjectCipher(Guid keyId, byte[] subjectKey) : IDisposable
{
    private readonly AesGcm _aes = new(subjectKey.AsSpan(0, 32), 16);
    private readonly IncrementalHash _nonce = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, subjectKey.AsSpan(32, 32));

    public Guid KeyId => keyId;

    /// <summary>
    /// Deterministic: the nonce is an HMAC of the event, path and value under the subject's nonce
    /// key (a synthetic IV), so a redelivered event encrypts to the same bytes and deduplicates
    /// exactly, while different values never share a nonce.
    /// </summary>
    public string Encrypt(Guid eventId, string path, string plaintext)
    {
        var aad = FieldEnvelope.Aad(eventId, path);
        var text = Encoding.UTF8.GetBytes(plaintext);
        _nonce.AppendData(aad);
        _nonce.AppendData([0]);
        _nonce.AppendData(text);
        Span<byte> mac = stackalloc byte[32];
        _nonce.GetHashAndReset(mac);
        var sealedBytes = new byte[12 + text.Length + 16];
        mac[..12].CopyTo(sealedBytes);
        _aes.Encrypt(sealedBytes.AsSpan(0, 12), text, sealedBytes.AsSpan(12, text.Length), sealedBytes.AsSpan(12 + text.Length), aad);
        return $"{FieldEnvelope.EncryptedPrefix}{keyId:N}:{Base64Url.EncodeToString(sealedBytes)}";
    }

    public void Dispose()
    {
        _aes.Dispose();
        _nonce.Dispose();
    }
}
