using Npgsql;

namespace AuditPipeline.Testing;

/// <summary>One migrated event store database on a test PostgreSQL server.</summary>
public sealed record TestStore(int Port, string Database)
{
    /// <summary>Superuser: can bypass the append-only triggers, as an attacker with DBA rights could.</summary>
    public string AdminConnectionString => $"Host=127.0.0.1;Port={Port};Database={Database};Username=postgres;Pooling=false";
    /// <summary>The app role the services use (INSERT/SELECT on the store).</summary>
    public string AppConnectionString => $"Host=127.0.0.1;Port={Port};Database={Database};Username=audit_app;Password=app";

    public NpgsqlDataSource AdminDataSource() => NpgsqlDataSource.Create(AdminConnectionString);
    public NpgsqlDataSource AppDataSource() => NpgsqlDataSource.Create(AppConnectionString);

    public async Task<long> CountAsync(string sql)
    {
        await using var ds = AdminDataSource();
        await using var cmd = ds.CreateCommand(sql);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task ExecAsAdminAsync(string sql)
    {
        await using var ds = AdminDataSource();
        await using var cmd = ds.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }
}
