using System.Text.Json;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity;
using Npgsql;

namespace AuditPipeline.Integrity.Store;

/// <summary>Signed checkpoints and the public keys that signed them, as stored in PostgreSQL.</summary>
public sealed class CheckpointLog(NpgsqlDataSource dataSource)
{
    public async Task<bool> InsertAsync(Checkpoint checkpoint, string publicKeyPem, string createdBy, CancellationToken ct)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await using (var key = new NpgsqlCommand(IntegritySql.SigningKeyInsert, conn, tx))
        {
            key.Parameters.AddWithValue("key_id", checkpoint.KeyId);
            key.Parameters.AddWithValue("pem", publicKeyPem);
            key.Parameters.AddWithValue("at", checkpoint.At);
            await key.ExecuteNonQueryAsync(ct);
        }
        int inserted;
        await using (var cmd = new NpgsqlCommand(IntegritySql.CheckpointInsert, conn, tx))
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

    public async Task<Checkpoint?> LatestAsync(CancellationToken ct) => (await ReadAsync(IntegritySql.CheckpointLatest, null, ct)).FirstOrDefault();

    public async Task<Checkpoint?> BySizeAsync(long size, CancellationToken ct) =>
        (await ReadAsync(IntegritySql.CheckpointBySize, cmd => cmd.Parameters.AddWithValue("size", size), ct)).FirstOrDefault();

    /// <summary>Newest first, below <paramref name="before"/> (a size cursor).</summary>
    public Task<List<Checkpoint>> ListAsync(long before, int limit, CancellationToken ct) =>
        ReadAsync(IntegritySql.CheckpointList, cmd =>
        {
            cmd.Parameters.AddWithValue("before", before);
            cmd.Parameters.AddWithValue("limit", limit);
        }, ct);

    /// <summary>Every public key that ever signed a checkpoint, by key id.</summary>
    public async Task<Dictionary<string, string>> PublicKeysAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(IntegritySql.SigningKeysAll);
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
        await using var cmd = dataSource.CreateCommand(query);
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
