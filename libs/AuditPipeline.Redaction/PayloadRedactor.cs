using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using Npgsql;

namespace AuditPipeline.Redaction;

/// <summary>
/// Ingest's half of redaction: before an event is chained and stored, the configured fields are
/// encrypted under the key of the event's subject or replaced by keyed hashes, and the canonical
/// bytes are rebuilt from the result. What is hashed and stored is therefore the redacted form,
/// which shredding never changes.
/// </summary>
public sealed class PayloadRedactor(NpgsqlDataSource dataSource, SubjectKeyStore keyStore, IReadOnlyList<string> encrypted, IReadOnlyList<string> hashed,
    TimeSpan keyCacheFor, TimeProvider clock)
{
    private readonly Dictionary<string, (SubjectKeyEntry Entry, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);

    /// <summary>
    /// Whose data the event carries: the human the agent acts for, else the agent's owner, else
    /// the agent itself. Shredding that subject makes the event's encrypted fields unreadable.
    /// </summary>
    public static string SubjectOf(AgentActionOccurred e) =>
        e.Delegation.OnBehalfOf ?? e.Agent.Owner ?? "agent:" + e.Agent.Id;

    /// <summary>
    /// The events with their payloads redacted (same order); events without a redactable value are
    /// kept as they are. Called from one thread at a time (ingest's write loop).
    /// </summary>
    public async Task<List<IncomingEvent>> RedactAsync(IReadOnlyList<AgentActionOccurred> actions, IReadOnlyList<IncomingEvent> events, CancellationToken ct)
    {
        var encrypting = encrypted.Count == 0 ? [] : actions.Select(HasEncryptedValue).ToArray();
        var keys = await KeysAsync([.. actions.Where((_, i) => encrypted.Count > 0 && encrypting[i]).Select(SubjectOf)], ct);
        // Only a subject shredded before could have an event stored under another key: look those up.
        var stored = await StoredPayloadsAsync([.. actions.Where((a, i) => encrypted.Count > 0 && encrypting[i] && keys[SubjectOf(a)].HasShredded).Select(a => a.EventId)], ct);
        var ciphers = keys.ToDictionary(k => k.Key, k => k.Value.Cipher, StringComparer.Ordinal);
        var result = new List<IncomingEvent>(events.Count);
        for (var i = 0; i < events.Count; i++)
        {
            var redacted = Redact(actions[i], ciphers);
            if (ReferenceEquals(redacted, actions[i]))
            {
                result.Add(events[i]);
                continue;
            }
            var payload = ContractJson.SerializeCanonical(redacted);
            if (stored.TryGetValue(actions[i].EventId, out var first) && !first.AsSpan().SequenceEqual(payload) && await IsShreddedCopyAsync(first, redacted, ct))
            {
                payload = first;
            }
            result.Add(events[i] with { Payload = payload });
        }
        return result;
    }

    /// <summary>
    /// A message redelivered after its subject was shredded is encrypted under the subject's new
    /// key, so its bytes differ from the stored event's and the store would call it a conflicting
    /// duplicate. It is the same event if everything but the encrypted fields is equal and the
    /// stored event's keys are all shredded: then the stored bytes are passed on, and it
    /// deduplicates exactly. (What the shredded fields held can no longer be compared, by design.)
    /// </summary>
    private async Task<bool> IsShreddedCopyAsync(byte[] storedPayload, AgentActionOccurred redacted, CancellationToken ct)
    {
        AgentActionOccurred stored;
        try
        {
            stored = ContractJson.Deserialize(storedPayload);
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
        var keyIds = RedactableFields.Values(stored)
            .Select(v => FieldEnvelope.TryParseEncrypted(v.Value, out var id, out _) ? id : Guid.Empty).Where(id => id != Guid.Empty).ToList();
        var keys = await keyStore.FindAsync(keyIds, ct);
        if (keyIds.Count == 0 || keyIds.Any(id => !keys.TryGetValue(id, out var k) || k.Key is not null))
        {
            return false;
        }
        var masked = redacted;
        foreach (var field in RedactableFields.All)
        {
            masked = RedactableFields.Map(masked, field, (_, value) => value.StartsWith(FieldEnvelope.EncryptedPrefix, StringComparison.Ordinal) ? FieldEnvelope.Shredded : value);
        }
        return ContractJson.SerializeCanonical(PayloadRevealer.Reveal(stored, keys).Event).AsSpan().SequenceEqual(ContractJson.SerializeCanonical(masked));
    }

    private async Task<Dictionary<Guid, byte[]>> StoredPayloadsAsync(Guid[] eventIds, CancellationToken ct)
    {
        var result = new Dictionary<Guid, byte[]>();
        if (eventIds.Length == 0)
        {
            return result;
        }
        await using var cmd = dataSource.CreateCommand(RedactionSql.StoredPayloads);
        cmd.Parameters.AddWithValue("ids", eventIds);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            result[reader.GetGuid(0)] = System.Text.Encoding.UTF8.GetBytes(reader.GetString(1));
        }
        return result;
    }

    /// <summary>One event redacted with its subject's cipher at hand (<see cref="RedactAsync"/> fetches them).</summary>
    public AgentActionOccurred Redact(AgentActionOccurred e, IReadOnlyDictionary<string, SubjectCipher> ciphers)
    {
        var result = e;
        foreach (var field in hashed)
        {
            result = RedactableFields.Map(result, field, (path, value) => keyStore.Keys.HashValue(path, value));
        }
        if (encrypted.Count > 0 && HasEncryptedValue(e))
        {
            var cipher = ciphers[SubjectOf(e)];
            foreach (var field in encrypted)
            {
                result = RedactableFields.Map(result, field, (path, value) => cipher.Encrypt(e.EventId, path, value));
            }
        }
        return result;
    }

    private bool HasEncryptedValue(AgentActionOccurred e) => encrypted.Any(field => RedactableFields.HasValue(e, field));

    private async Task<Dictionary<string, SubjectKeyEntry>> KeysAsync(IReadOnlyCollection<string> subjects, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        // Expired entries go (and their native contexts with them), so subjects seen once do not
        // keep key material in memory, and a shredded key stays here at most KeyCacheSeconds.
        foreach (var expired in _cache.Where(c => c.Value.Until <= now).Select(c => c.Key).ToList())
        {
            _cache.Remove(expired, out var old);
            old.Entry.Cipher.Dispose();
        }
        var keys = new Dictionary<string, SubjectKeyEntry>(StringComparer.Ordinal);
        var missing = new HashSet<string>(StringComparer.Ordinal);
        foreach (var subject in subjects)
        {
            if (_cache.TryGetValue(subject, out var cached) && cached.Until > now)
            {
                keys[subject] = cached.Entry;
            }
            else
            {
                missing.Add(subject);
            }
        }
        if (missing.Count > 0)
        {
            foreach (var (subject, key) in await keyStore.LiveKeysAsync(missing, ct))
            {
                var entry = new SubjectKeyEntry(new SubjectCipher(key.KeyId, key.Key), key.HasShredded);
                keys[subject] = entry;
                _cache[subject] = (entry, now + keyCacheFor);
            }
        }
        return keys;
    }

    private sealed record SubjectKeyEntry(SubjectCipher Cipher, bool HasShredded);
}
