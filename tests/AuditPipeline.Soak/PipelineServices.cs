using System.Globalization;
using AuditPipeline.Testing;

namespace AuditPipeline.Soak;

/// <summary>
/// The four services of the pipeline as real processes on the soak's servers: ingest, the
/// projector (ClickHouse, read models, Merkle tree with signed checkpoints), the detectors and
/// the query API (on a fixed port, so it answers at the same address after a restart).
/// </summary>
public sealed class PipelineServices : IAsyncDisposable
{
    private PipelineServices(SoakServers servers)
    {
        // Timestamped logs: the soak's log files are read against its fault timeline.
        const string Timestamps = "Logging__Console__TimestampFormat";
        var kafka = servers.Kafka.BootstrapServers;
        var store = servers.Store;
        ApiBaseUrl = new Uri($"http://127.0.0.1:{PostgresServer.FreePort().ToString(CultureInfo.InvariantCulture)}/");
        Ingest = new ServiceProcess("ingest", () => ChildProcess.StartDotnet(RepoPaths.IngestDll, new Dictionary<string, string>
        {
            ["Store__ConnectionString"] = store.ConnectionString(ServiceRole.Ingest),
            ["Kafka__BootstrapServers"] = kafka,
            ["Ingest__Topic"] = SoakServers.Topic,
            ["Ingest__DeadLetterTopic"] = SoakServers.DeadLetterTopic,
            ["Ingest__GroupId"] = "audit-ingest",
            ["Ingest__BatchSize"] = "2000",
            ["Ingest__SessionTimeoutMs"] = "6000",
            ["Ingest__MaxRetryDelayMs"] = "1000",
            [Timestamps] = "HH:mm:ss.fff ",
        }));
        Projector = new ServiceProcess("projector", () => ChildProcess.StartDotnet(RepoPaths.ProjectionsDll, new Dictionary<string, string>
        {
            ["Store__ConnectionString"] = store.ConnectionString(ServiceRole.Projector),
            ["ClickHouse__Url"] = servers.ClickHouseUrl,
            ["Kafka__BootstrapServers"] = kafka,
            ["Projections__BatchSize"] = "2000",
            ["Projections__MaxRetryDelayMs"] = "1000",
            ["Integrity__SigningKeyFile"] = servers.SigningKeyFile,
            ["Integrity__CheckpointIntervalSeconds"] = "2",
            ["Integrity__CheckpointDirectory"] = "",
            ["Integrity__CheckpointTopic"] = "",
            [Timestamps] = "HH:mm:ss.fff ",
        }));
        // As in AlertTests: a short cold start and quiet period, so an injected runaway with 40
        // minutes of history opens an incident and recovers within seconds of being ingested.
        Detector = new ServiceProcess("detector", () => ChildProcess.StartDotnet(RepoPaths.DetectorServiceDll, new Dictionary<string, string>
        {
            ["Store__ConnectionString"] = store.ConnectionString(ServiceRole.Detector),
            ["Kafka__BootstrapServers"] = kafka,
            ["Alerts__Topic"] = SoakServers.AlertsTopic,
            ["Alerts__MaxRetryDelayMs"] = "1000",
            ["Detectors__ColdStartMinutes"] = "10",
            ["Detectors__IncidentQuietMinutes"] = "4",
            ["Detection__IdleAdvanceSeconds"] = "2",
            ["Detection__MaxRetryDelayMs"] = "1000",
            [Timestamps] = "HH:mm:ss.fff ",
        }));
        Api = new ServiceProcess("api", () => ChildProcess.StartDotnet(RepoPaths.Built("query-api/AuditPipeline.QueryApi", "AuditPipeline.QueryApi.dll"), new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = ApiBaseUrl.ToString().TrimEnd('/'),
            ["Store__ConnectionString"] = store.ConnectionString(ServiceRole.Api),
            ["ClickHouse__Url"] = servers.ClickHouseUrl,
            ["Kafka__BootstrapServers"] = kafka,
            ["Integrity__CheckpointTopic"] = "",
            ["Integrity__TrustedKeyFiles__0"] = servers.TrustedKeyFile,
            ["QueryApi__ExportDirectory"] = servers.ExportDirectory,
            [Timestamps] = "HH:mm:ss.fff ",
        }));
    }

    public ServiceProcess Ingest { get; }
    public ServiceProcess Projector { get; }
    public ServiceProcess Detector { get; }
    public ServiceProcess Api { get; }
    public Uri ApiBaseUrl { get; }
    public IReadOnlyList<ServiceProcess> All => [Ingest, Projector, Detector, Api];

    public static PipelineServices Start(SoakServers servers)
    {
        var services = new PipelineServices(servers);
        foreach (var service in services.All)
        {
            service.Start();
        }
        return services;
    }

    /// <summary>Until cancelled: every second, any service that exited on its own is recorded and started again.</summary>
    public async Task WatchAsync(CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await Task.Delay(1000, ct);
                foreach (var service in All)
                {
                    await service.RestartIfExitedAsync();
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    public IReadOnlyList<string> UnexpectedExits => [.. All.SelectMany(s => s.UnexpectedExits)];

    /// <summary>Writes each service's output, every incarnation of it, to &lt;directory&gt;/&lt;service&gt;.log.</summary>
    public async Task WriteLogsAsync(string directory)
    {
        Directory.CreateDirectory(directory);
        foreach (var service in All)
        {
            await File.WriteAllTextAsync(Path.Combine(directory, service.Name + ".log"), service.History());
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var service in All)
        {
            await service.DisposeAsync();
        }
    }
}
