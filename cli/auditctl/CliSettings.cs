using AuditPipeline.Core.Kafka;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace AuditPipeline.Cli;

/// <summary>
/// Settings come from the environment, the same keys the services use
/// (Store__ConnectionString, Store__AdminConnectionString, Kafka__BootstrapFile, ...);
/// infra/up writes them to .local/stack.env.
/// </summary>
internal static class CliSettings
{
    private static readonly IConfiguration Configuration = new ConfigurationBuilder().AddEnvironmentVariables().AddKeyPerFile(AuditPipeline.Core.SecretFiles.Directory, optional: true).Build();

    public static NpgsqlDataSource AppDataSource(string? overrideConnection = null) =>
        NpgsqlDataSource.Create(overrideConnection ?? Required("Store:ConnectionString"));

    public static NpgsqlDataSource AdminDataSource(string? overrideConnection = null) =>
        NpgsqlDataSource.Create(overrideConnection ?? Configuration["Store:AdminConnectionString"] ?? Required("Store:ConnectionString"));

    public static AuditPipeline.ClickHouse.ClickHouseClient ClickHouse(HttpClient http) =>
        new(http, new Uri(Required("ClickHouse:Url")));

    public static KafkaOptions Kafka()
    {
        var kafka = new KafkaOptions();
        Configuration.GetSection(KafkaOptions.Section).Bind(kafka);
        return kafka;
    }

    public static AuditPipeline.Core.Integrity.IntegrityOptions Integrity()
    {
        var options = new AuditPipeline.Core.Integrity.IntegrityOptions();
        Configuration.GetSection(AuditPipeline.Core.Integrity.IntegrityOptions.Section).Bind(options);
        return options;
    }

    public static string KafkaBootstrap()
    {
        var kafka = new KafkaOptions();
        Configuration.GetSection(KafkaOptions.Section).Bind(kafka);
        return kafka.ResolveBootstrapServers();
    }

    private static string Required(string key) =>
        Configuration[key] ?? throw new InvalidOperationException(
            $"{key} is not set (environment variable {key.Replace(":", "__", StringComparison.Ordinal)}; `source .local/stack.env` after infra/up).");
}
