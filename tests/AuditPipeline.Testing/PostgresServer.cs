using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AuditPipeline.EventStore;
using Npgsql;

namespace AuditPipeline.Testing;

/// <summary>
/// A real PostgreSQL 15 server of the test's own: fresh data dir under /tmp, a free loopback
/// port, the event store migrated, and a login for each service role (see <see cref="ServiceRole"/>).
/// Can be stopped and started again to simulate an outage. Removed on dispose.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private const string Bin = "/usr/lib/postgresql/15/bin";
    private readonly string _dataDir;
    private readonly bool _asPostgresUser = Environment.UserName == "root";

    private readonly SemaphoreSlim _roles = new(1, 1);
    private int _databases;

    public int Port { get; }

    private PostgresServer(string dataDir, int port)
    {
        _dataDir = dataDir;
        Port = port;
    }

    public static async Task<PostgresServer> StartAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"ap-test-pg-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        var server = new PostgresServer(dir, FreePort());
        if (server._asPostgresUser)
        {
            await Run("chown", $"postgres:postgres {dir}");
        }
        await server.Pg("initdb", $"-D {dir} -U postgres --auth=trust -E UTF8 --no-sync");
        await server.StartServerAsync();
        return server;
    }

    /// <summary>A fresh, migrated event store database, so each test starts from an empty log.</summary>
    public async Task<TestStore> CreateStoreAsync()
    {
        var name = $"store_{Interlocked.Increment(ref _databases)}";
        await using (var conn = new NpgsqlConnection($"Host=127.0.0.1;Port={Port};Database=postgres;Username=postgres;Pooling=false"))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        var store = new TestStore(Port, name);
        // Roles are cluster-wide: concurrent CREATE/ALTER ROLE from two databases' set-up would race.
        await _roles.WaitAsync();
        try
        {
            await using (var admin = store.AdminDataSource())
            {
                await new SchemaMigrator(admin).MigrateAsync(CancellationToken.None);
                // Each service's role logs in with its own password (cluster-wide, so once per server is enough, but idempotent).
                var logins = string.Join("\n", Enum.GetValues<ServiceRole>().Select(r => $"ALTER ROLE {TestStore.RoleName(r)} LOGIN PASSWORD '{r.ToString().ToLowerInvariant()}';"));
                await using var cmd = admin.CreateCommand(logins);
                await cmd.ExecuteNonQueryAsync();
            }
        }
        finally
        {
            _roles.Release();
        }
        return store;
    }

    public Task StartServerAsync() =>
        Pg("pg_ctl", $"-D {_dataDir} -l {_dataDir}/server.log -w -t 60 -o \"-p {Port} -c listen_addresses=127.0.0.1 -k {_dataDir} -c shared_buffers=256MB -c max_wal_size=2GB\" start");

    /// <summary>Fast shutdown: open connections are cut, as in a crash of the database host.</summary>
    public Task StopServerAsync() => Pg("pg_ctl", $"-D {_dataDir} -m fast -w stop");

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopServerAsync();
        }
        catch (InvalidOperationException)
        {
            // already stopped
        }
        Directory.Delete(_dataDir, recursive: true);
    }

    private Task Pg(string tool, string arguments) =>
        _asPostgresUser ? Run("runuser", $"-u postgres -- {Bin}/{tool} {arguments}") : Run($"{Bin}/{tool}", arguments);

    private static async Task Run(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {arguments} failed ({process.ExitCode}): {await stderr}{await stdout}");
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
