using System.Text.Json;
using System.Text.Json.Serialization;
using AuditPipeline.Core.Store;
using Npgsql;

namespace AuditPipeline.Core.Integrity;

/// <summary>
/// The portable form of a checkpoint: what is written to the checkpoint directory, published to
/// Kafka, served by the API and put in evidence bundles. Anyone can rebuild the signed bytes
/// (<see cref="Checkpoint.SignedText"/>) from it and check the signature with the key's PEM.
/// </summary>
public sealed record CheckpointDocument(
    string Origin, long Size, string RootHash, DateTimeOffset SignedAt, string KeyId, string Signature, string? PublicKeyPem)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>
    /// Set only by a server that checked the signature against its own trusted keys (never against
    /// the key stored beside the row); absent in files and bundles, whose readers check for themselves.
    /// </summary>
    public bool? Verified { get; init; }

    /// <summary>Why <see cref="Verified"/> is false.</summary>
    public string? Problem { get; init; }

    public static CheckpointDocument From(Checkpoint c, string? publicKeyPem) =>
        new(Checkpoint.Origin, c.Size, c.RootHash, c.At, c.KeyId, c.Signature, publicKeyPem);

    /// <summary>A stored checkpoint as a server shows it: with the trusted key's PEM and verified, or with the stored PEM and why it is not.</summary>
    public static CheckpointDocument Checked(Checkpoint c, TrustedKeys? trusted, string? storedPublicKeyPem)
    {
        var problem = trusted is null ? "no trusted checkpoint key is configured here, so the signature was not checked" : trusted.Verify(c);
        return problem is null
            ? From(c, trusted!.Find(c.KeyId)!.PublicKeyPem) with { Verified = true }
            : From(c, storedPublicKeyPem) with { Verified = false, Problem = problem };
    }

    public Checkpoint ToCheckpoint() => new(Size, RootHash, SignedAt, KeyId, Signature);

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    /// <summary>Parses a checkpoint file; names what is wrong instead of throwing deep inside.</summary>
    public static CheckpointDocument Parse(ReadOnlySpan<byte> json)
    {
        CheckpointDocument? doc;
        try
        {
            doc = JsonSerializer.Deserialize<CheckpointDocument>(json, Json);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"not a checkpoint document: {ex.Message}", ex);
        }
        if (doc is null || doc.Origin != Checkpoint.Origin || doc.RootHash is not { Length: 64 } || doc.KeyId is null || doc.Signature is null || doc.Size < 0)
        {
            throw new FormatException($"not a checkpoint document (expected origin {Checkpoint.Origin}, size, 64-hex rootHash, keyId, signature)");
        }
        return doc;
    }
}

/// <summary>Signed checkpoints and the public keys that signed them, as stored in PostgreSQL.</summary>
public sealed class CheckpointLog(NpgsqlDataSource dataSource)
{
    public async Task<bool> InsertAsync(Checkpoint checkpoint, string publicKeyPem, string createdBy, CancellationToken ct)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await using (var key = new NpgsqlCommand(SqlScripts.Query("signing_key_insert"), conn, tx))
        {
            key.Parameters.AddWithValue("key_id", checkpoint.KeyId);
            key.Parameters.AddWithValue("pem", publicKeyPem);
            key.Parameters.AddWithValue("at", checkpoint.At);
            await key.ExecuteNonQueryAsync(ct);
        }
        int inserted;
        await using (var cmd = new NpgsqlCommand(SqlScripts.Query("checkpoint_insert"), conn, tx))
        {
            cmd.Parameters.AddWithValue("size", checkpoint.Size);
            cmd.Parameters.AddWithValue("root", Convert.FromHexString(checkpoint.RootHash));
            cmd.Parameters.AddWithValue("signed_at", checkpoint.At);
            cmd.Parameters.AddWithValue("key_id", checkpoint.KeyId);
            cmd.Parameters.AddWithValue("signature", checkpoint.Signature);
            cmd.Parameters.AddWithValue("created_by", createdBy);
            inserted = await cmd.ExecuteNonQueryAsync(ct);
        }
        await tx.CommitAsync(ct);
        return inserted == 1;
    }

    public async Task<Checkpoint?> LatestAsync(CancellationToken ct) => (await ReadAsync("checkpoint_latest", null, ct)).FirstOrDefault();

    public async Task<Checkpoint?> BySizeAsync(long size, CancellationToken ct) =>
        (await ReadAsync("checkpoint_by_size", cmd => cmd.Parameters.AddWithValue("size", size), ct)).FirstOrDefault();

    /// <summary>Newest first, below <paramref name="before"/> (a size cursor).</summary>
    public Task<List<Checkpoint>> ListAsync(long before, int limit, CancellationToken ct) =>
        ReadAsync("checkpoint_list", cmd =>
        {
            cmd.Parameters.AddWithValue("before", before);
            cmd.Parameters.AddWithValue("limit", limit);
        }, ct);

    /// <summary>Every public key that ever signed a checkpoint, by key id.</summary>
    public async Task<Dictionary<string, string>> PublicKeysAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(SqlScripts.Query("signing_keys_all"));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var keys = new Dictionary<string, string>();
        while (await reader.ReadAsync(ct))
        {
            keys[reader.GetString(0)] = reader.GetString(1);
        }
        return keys;
    }

    private async Task<List<Checkpoint>> ReadAsync(string query, Action<NpgsqlCommand>? bind, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(SqlScripts.Query(query));
        bind?.Invoke(cmd);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var result = new List<Checkpoint>();
        while (await reader.ReadAsync(ct))
        {
            result.Add(new Checkpoint(
                reader.GetInt64(0), Convert.ToHexStringLower(reader.GetFieldValue<byte[]>(1)),
                reader.GetFieldValue<DateTimeOffset>(2), reader.GetString(3), reader.GetString(4)));
        }
        return result;
    }
}
