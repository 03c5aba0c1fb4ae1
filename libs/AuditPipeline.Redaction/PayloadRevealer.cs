using AuditPipeline.Contracts;

namespace AuditPipeline.Redaction;

/// <summary>An event as a reader may see it, and what redaction did to each redacted field.</summary>
/// <remarks><see cref="Encrypted"/> lists fields left as stored because the reader has no master key.</remarks>
public sealed record RevealedEvent(AgentActionOccurred Event, IReadOnlyList<string> Decrypted, IReadOnlyList<string> Shredded, IReadOnlyList<string> Hashed,
    IReadOnlyList<string> Unreadable, IReadOnlyList<string> Encrypted);

/// <summary>
/// Readers' half of redaction: encrypted fields are decrypted when the subject's key still
/// exists and shown as <c>[shredded]</c> once it was destroyed; keyed hashes stay as they are.
/// The stored bytes are never touched, so hashes and proofs are computed from them as always.
/// </summary>
public sealed class PayloadRevealer(SubjectKeyStore keyStore)
{
    public async Task<RevealedEvent> RevealAsync(AgentActionOccurred e, CancellationToken ct)
    {
        var values = RedactableFields.Values(e);
        var keyIds = new List<Guid>();
        foreach (var (_, value) in values)
        {
            if (FieldEnvelope.TryParseEncrypted(value, out var keyId, out _))
            {
                keyIds.Add(keyId);
            }
        }
        var keys = await keyStore.FindAsync(keyIds, ct);
        return Reveal(e, keys);
    }

    public static RevealedEvent Reveal(AgentActionOccurred e, IReadOnlyDictionary<Guid, SubjectKey> keys)
    {
        var (decrypted, shredded, hashed, unreadable) = (new List<string>(), new List<string>(), new List<string>(), new List<string>());
        var result = e;
        foreach (var field in RedactableFields.All)
        {
            result = RedactableFields.Map(result, field, (path, value) =>
            {
                if (value.StartsWith(FieldEnvelope.HashedPrefix, StringComparison.Ordinal))
                {
                    hashed.Add(path);
                    return value;
                }
                if (!value.StartsWith(FieldEnvelope.EncryptedPrefix, StringComparison.Ordinal))
                {
                    return value;
                }
                if (!FieldEnvelope.TryParseEncrypted(value, out var keyId, out var sealedBytes) || !keys.TryGetValue(keyId, out var key))
                {
                    unreadable.Add(path);
                    return FieldEnvelope.Unreadable;
                }
                if (key.Key is null)
                {
                    shredded.Add(path);
                    return FieldEnvelope.Shredded;
                }
                if (FieldEnvelope.Decrypt(key.Key, e.EventId, path, sealedBytes) is { } plain)
                {
                    decrypted.Add(path);
                    return plain;
                }
                unreadable.Add(path);
                return FieldEnvelope.Unreadable;
            });
        }
        return new RevealedEvent(result, decrypted, shredded, hashed, unreadable, []);
    }

    /// <summary>What a reader without the master key sees: the event as stored, and which of its fields are encrypted or hashed.</summary>
    public static RevealedEvent WithoutKey(AgentActionOccurred e)
    {
        var values = RedactableFields.Values(e);
        List<string> With(string prefix) => [.. values.Where(v => v.Value.StartsWith(prefix, StringComparison.Ordinal)).Select(v => v.Path)];
        return new RevealedEvent(e, [], [], With(FieldEnvelope.HashedPrefix), [], With(FieldEnvelope.EncryptedPrefix));
    }
}
