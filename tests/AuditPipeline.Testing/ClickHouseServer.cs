using System.Diagnostics;

namespace AuditPipeline.Testing;

/// <summary>
/// A real ClickHouse server of the test's own (Debian's clickhouse-server), from the repo's
/// infra/clickhouse config on free loopback ports with data in a temp dir; removed on dispose.
/// </summary>
public sealed class ClickHouseServer : IAsyncDisposable
{
    private readonly string _dir;
    private Process _process;

    public Uri HttpUri { get; }

    private ClickHouseServer(string dir, Process process, Uri httpUri)
    {
        _dir = dir;
        _process = process;
        HttpUri = httpUri;
    }

    /// <summary>Kills the server (as a crash would) and starts it again on the same data and port.</summary>
    public async Task RestartAsync(TimeSpan downFor)
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        await Task.Delay(downFor);
        _process = Launch(_dir);
        await WaitForPingAsync(this);
    }

    public static async Task<ClickHouseServer> StartAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"ap-test-ch-{Guid.NewGuid():N}");
        foreach (var sub in new[] { "data", "tmp", "user_files", "format_schemas" })
        {
            Directory.CreateDirectory(Path.Combine(dir, sub));
        }
        var httpPort = PostgresServer.FreePort();
        var template = Path.Combine(RepoPaths.Root, "infra", "clickhouse");
        var config = (await File.ReadAllTextAsync(Path.Combine(template, "config.xml")))
            .Replace("@DIR@", dir, StringComparison.Ordinal)
            .Replace("@HTTP_PORT@", httpPort.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("@TCP_PORT@", PostgresServer.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Combine(dir, "config.xml"), config);
        File.Copy(Path.Combine(template, "users.xml"), Path.Combine(dir, "users.xml"));

        var server = new ClickHouseServer(dir, Launch(dir), new Uri($"http://127.0.0.1:{httpPort}/"));
        await WaitForPingAsync(server);
        return server;
    }

    private static Process Launch(string dir)
    {
        var process = Process.Start(new ProcessStartInfo("/usr/sbin/clickhouse-server", $"--config-file={dir}/config.xml")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dir,
        })!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitForPingAsync(ClickHouseServer server)
    {
        var (dir, process) = (server._dir, server._process);
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                if ((await http.GetAsync(new Uri(server.HttpUri, "ping"))).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                var log = Path.Combine(dir, "clickhouse-server.err.log");
                var details = File.Exists(log) ? await File.ReadAllTextAsync(log) : "(no log)";
                await server.DisposeAsync();
                throw new InvalidOperationException("ClickHouse did not start: " + details);
            }
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
