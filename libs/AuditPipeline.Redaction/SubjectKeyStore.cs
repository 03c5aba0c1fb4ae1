using System.Security.Cryptography;
using AuditPipeline.EventStore;
using Npgsql;

namespace AuditPipeline.Redaction;

/// <summary>A subject key as stored: its id and, unless shredded, the key itself.</summary>
public sealed record SubjectKey(Guid KeyId, byte[]? Key, DateTimeOffset? ShreddedAt);

/// <summary>What a subject has had: each key, live or shredded.</summary>
public sealed record SubjectKeyHistory(Guid KeyId, DateTimeOffset CreatedAt, DateTimeOffset? ShreddedAt, string? ShreddedBy);

/// <summary>The per-subject keys in <c>audit.subject_keys</c>, wrapped under the master key (migration 0008).</summary>
public sealed class SubjectKeyStore(NpgsqlDataSource dataSource, RedactionKeys keys, TimeProvider clock)
{
    public RedactionKeys Keys => keys;

    /// <summary>
    /// The live key of each subject, made (and stored) for subjects that have none, and whether the
    /// subject was shredded before (its earlier events are under a destroyed key).
    /// </summary>
    public async Task<Dictionary<string, (Guid KeyId, byte[] Key, bool HasShredded)>> LiveKeysAsync(IReadOnlyCollection<string> subjects, CancellationToken ct)
    {
        var refs = subjects.Distinct(StringComparer.Ordinal).ToDictionary(s => s, keys.SubjectRef, StringComparer.Ordinal);
        var found = await ReadLiveAsync(refs.Values.ToArray(), ct);
        var missing = refs.Where(r => !found.ContainsKey(Convert.ToHexString(r.Value))).ToList();
        if (missing.Count > 0)
        {
            await using (var batch = dataSource.CreateBatch())
            {
                foreach (var (_, subjectRef) in missing)
                {
                    var keyId = Guid.CreateVersion7(clock.GetUtcNow());
                    var command = new NpgsqlBatchCommand(RedactionSql.SubjectKeyInsert);
                    command.Parameters.AddWithValue("key_id", keyId);
                    command.Parameters.AddWithValue("subject_ref", subjectRef);
                    command.Parameters.AddWithValue("wrapped_key", keys.Wrap(keyId, RandomNumberGenerator.GetBytes(RedactionKeys.SubjectKeyBytes)));
                    command.Parameters.AddWithValue("created_at", clock.GetUtcNow());
                    batch.BatchCommands.Add(command);
                }
                await batch.ExecuteNonQueryAsync(ct);
            }
            // Read back: another ingest instance may have won the insert for the same subject.
            foreach (var (hex, key) in await ReadLiveAsync(missing.Select(m => m.Value).ToArray(), ct))
            {
                found[hex] = key;
            }
        }
        return refs.ToDictionary(r => r.Key, r => found[Convert.ToHexString(r.Value)], StringComparer.Ordinal);
    }

    /// <summary>Keys by id, for reading; a shredded key comes back without its bytes, an unknown id not at all.</summary>
    public async Task<Dictionary<Guid, SubjectKey>> FindAsync(IReadOnlyCollection<Guid> keyIds, CancellationToken ct)
    {
        var result = new Dictionary<Guid, SubjectKey>();
        if (keyIds.Count == 0)
        {
            return result;
        }
        await using var cmd = dataSource.CreateCommand(RedactionSql.SubjectKeysById);
        cmd.Parameters.AddWithValue("key_ids", keyIds.Distinct().ToArray());
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var id = reader.GetGuid(0);
            result[id] = reader.IsDBNull(1)
                ? new SubjectKey(id, null, reader.GetFieldValue<DateTimeOffset>(2))
                : new SubjectKey(id, keys.Unwrap(id, reader.GetFieldValue<byte[]>(1)), null);
        }
        return result;
    }

    public async Task<List<SubjectKeyHistory>> HistoryAsync(string subject, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(RedactionSql.SubjectKeysOf);
        cmd.Parameters.AddWithValue("subject_ref", keys.SubjectRef(subject));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var result = new List<SubjectKeyHistory>();
        while (await reader.ReadAsync(ct))
        {
            result.Add(new SubjectKeyHistory(reader.GetGuid(0), reader.GetFieldValue<DateTimeOffset>(1),
                reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        }
        return result;
    }

    /// <summary>
    /// Destroys the subject's live keys through the schema owner's connection, then vacuums the
    /// table so the old row versions holding the wrapped keys are gone from its pages too.
    /// Returns the shredded key ids (empty: the subject had no live key).
    /// </summary>
    public async Task<List<Guid>> ShredAsync(NpgsqlDataSource owner, string subject, string actor, CancellationToken ct)
    {
        var shredded = new List<Guid>();
        await using (var cmd = owner.CreateCommand(RedactionSql.SubjectKeysShred))
        {
            cmd.Parameters.AddWithValue("subject_ref", keys.SubjectRef(subject));
            cmd.Parameters.AddWithValue("at", clock.GetUtcNow());
            cmd.Parameters.AddWithValue("by", actor);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                shredded.Add(reader.GetGuid(0));
            }
        }
        if (shredded.Count > 0)
        {
            await using var vacuum = owner.CreateCommand("VACUUM (FULL) audit.subject_keys");
            await vacuum.ExecuteNonQueryAsync(ct);
        }
        return shredded;
    }

    private async Task<Dictionary<string, (Guid KeyId, byte[] Key, bool HasShredded)>> ReadLiveAsync(byte[][] subjectRefs, CancellationToken ct)
    {
        var result = new Dictionary<string, (Guid, byte[], bool)>(StringComparer.Ordinal);
        await using var cmd = dataSource.CreateCommand(RedactionSql.SubjectKeyLive);
        cmd.Parameters.AddWithValue("subject_refs", subjectRefs);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var id = reader.GetGuid(1);
            result[Convert.ToHexString(reader.GetFieldValue<byte[]>(0))] = (id, keys.Unwrap(id, reader.GetFieldValue<byte[]>(2)), reader.GetBoolean(3));
        }
        return result;
    }
}
