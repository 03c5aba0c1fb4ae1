using AuditPipeline.Core.Contract;

namespace AuditPipeline.Core.Redaction;

/// <summary>An event as a reader may see it, and what redaction did to each redacted field.</summary>
public sealed record RevealedEvent(AgentActionOccurred Event, IReadOnlyList<string> Decrypted, IReadOnlyList<string> Shredded, IReadOnlyList<string> Hashed, IReadOnlyList<string> Unreadable);

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
        return new RevealedEvent(result, decrypted, shredded, hashed, unreadable);
    }
}
