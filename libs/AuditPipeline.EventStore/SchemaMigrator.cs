using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace AuditPipeline.EventStore;

/// <summary>
/// Applies the versioned .sql migrations in order, each in its own transaction, under an
/// advisory lock so concurrent starts do not race. An applied migration whose text changed
/// is an error: history is never rewritten.
/// </summary>
public sealed class SchemaMigrator(NpgsqlDataSource ownerDataSource)
{
    private const long LockKey = 0x4155_4449_545F_4D49; // "AUDIT_MI"

    public async Task<IReadOnlyList<string>> MigrateAsync(CancellationToken ct)
    {
        await using var conn = await ownerDataSource.OpenConnectionAsync(ct);
        await ExecAsync(conn, "SELECT pg_advisory_lock(@key)", ct, ("key", LockKey));
        try
        {
            await ExecAsync(conn, """
                CREATE SCHEMA IF NOT EXISTS audit;
                CREATE TABLE IF NOT EXISTS audit.schema_migrations (
                    name text PRIMARY KEY, sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                """, ct);
            var applied = new Dictionary<string, string>();
            await using (var cmd = new NpgsqlCommand("SELECT name, sha256 FROM audit.schema_migrations", conn))
            await using (var reader = await cmd.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    applied[reader.GetString(0)] = reader.GetString(1);
                }
            }

            var newlyApplied = new List<string>();
            foreach (var (name, sql) in StoreSql.Files.Migrations())
            {
                var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql)));
                if (applied.TryGetValue(name, out var appliedSha))
                {
                    if (appliedSha != sha)
                    {
                        throw new InvalidOperationException(
                            $"Migration {name} was changed after it was applied (sha256 {appliedSha} in the database, {sha} now). Add a new migration instead.");
                    }
                    continue;
                }
                await using var tx = await conn.BeginTransactionAsync(ct);
                await using (var cmd = new NpgsqlCommand(sql, conn, tx))
                {
                    await cmd.ExecuteNonQueryAsync(ct);
                }
                await using (var cmd = new NpgsqlCommand("INSERT INTO audit.schema_migrations (name, sha256) VALUES (@n, @s)", conn, tx))
                {
                    cmd.Parameters.AddWithValue("n", name);
                    cmd.Parameters.AddWithValue("s", sha);
                    await cmd.ExecuteNonQueryAsync(ct);
                }
                await tx.CommitAsync(ct);
                newlyApplied.Add(name);
            }
            return newlyApplied;
        }
        finally
        {
            await ExecAsync(conn, "SELECT pg_advisory_unlock(@key)", CancellationToken.None, ("key", LockKey));
        }
    }

    private static async Task ExecAsync(NpgsqlConnection conn, string sql, CancellationToken ct, params (string Name, object Value)[] args)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        foreach (var (name, value) in args)
        {
            cmd.Parameters.AddWithValue(name, value);
        }
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
