using Npgsql;

namespace AuditPipeline.Testing;

/// <summary>The services' database roles (migration 0010): each logs in as its own role.</summary>
public enum ServiceRole
{
    Ingest,
    Projector,
    Detector,
    Api,
    Ops,
}

/// <summary>One migrated event store database on a test PostgreSQL server.</summary>
public sealed record TestStore(int Port, string Database)
{
    /// <summary>Superuser: can bypass the append-only triggers, as an attacker with DBA rights could.</summary>
    public string AdminConnectionString => $"Host=127.0.0.1;Port={Port};Database={Database};Username=postgres;Pooling=false";

    /// <summary>A service's own login (role audit_&lt;service&gt;, password = the service name), with only that service's rights.</summary>
    public string ConnectionString(ServiceRole role) =>
        $"Host=127.0.0.1;Port={Port};Database={Database};Username={RoleName(role)};Password={role.ToString().ToLowerInvariant()}";

    public static string RoleName(ServiceRole role) => $"audit_{role.ToString().ToLowerInvariant()}";

    public NpgsqlDataSource AdminDataSource() => NpgsqlDataSource.Create(AdminConnectionString);
    public NpgsqlDataSource DataSource(ServiceRole role) => NpgsqlDataSource.Create(ConnectionString(role));

    /// <summary>
    /// For test set-up that writes what several services write (actions, alerts, read models, the
    /// tree): the schema owner. What each service may and may not do is tested with its own role.
    /// </summary>
    public NpgsqlDataSource SeedDataSource() => NpgsqlDataSource.Create($"Host=127.0.0.1;Port={Port};Database={Database};Username=postgres");

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
