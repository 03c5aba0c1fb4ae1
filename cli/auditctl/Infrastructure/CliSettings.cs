using AuditPipeline.Kafka;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace AuditPipeline.Cli.Infrastructure;

/// <summary>
/// Settings come from the environment, the same keys the services use
/// (Store__ConnectionString, Store__AdminConnectionString, Kafka__BootstrapFile, ...);
/// infra/up writes them to .local/stack.env.
/// </summary>
internal static class CliSettings
{
    private static readonly IConfiguration Configuration = new ConfigurationBuilder().AddEnvironmentVariables().AddKeyPerFile(AuditPipeline.ServiceDefaults.SecretFiles.Directory, optional: true).Build();

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

    public static AuditPipeline.Integrity.Store.IntegrityOptions Integrity()
    {
        var options = new AuditPipeline.Integrity.Store.IntegrityOptions();
        Configuration.GetSection(AuditPipeline.Integrity.Store.IntegrityOptions.Section).Bind(options);
        return options;
    }

    /// <summary>The retention policy, validated like a service's options.</summary>
    public static AuditPipeline.Retention.RetentionPolicy Retention()
    {
        var policy = new AuditPipeline.Retention.RetentionPolicy();
        Configuration.GetSection(AuditPipeline.Retention.RetentionPolicy.Section).Bind(policy);
        var problems = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        return System.ComponentModel.DataAnnotations.Validator.TryValidateObject(policy, new(policy), problems, validateAllProperties: true)
            ? policy
            : throw new ArgumentException($"Retention settings: {string.Join("; ", problems.Select(p => p.ErrorMessage))}");
    }

    public static AuditPipeline.Redaction.RedactionOptions Redaction()
    {
        var options = new AuditPipeline.Redaction.RedactionOptions();
        Configuration.GetSection(AuditPipeline.Redaction.RedactionOptions.Section).Bind(options);
        return options;
    }

    /// <summary>The subject key table with the master key, or null when no master key is configured.</summary>
    public static AuditPipeline.Redaction.SubjectKeyStore? SubjectKeys(NpgsqlDataSource dataSource)
    {
        var options = Redaction();
        return options.Enabled
            ? new(dataSource, new AuditPipeline.Redaction.RedactionKeys(options.LoadMasterKey()), TimeProvider.System)
            : null;
    }

    public static string KafkaBootstrap()
    {
        var kafka = new KafkaOptions();
        Configuration.GetSection(KafkaOptions.Section).Bind(kafka);
        return kafka.ResolveBootstrapServers();
    }

    /// <summary>The topic ingest reads (Ingest:Topic, as the ingest service is configured), agent-actions by default.</summary>
    public static string IngestTopic() => Configuration["Ingest:Topic"] is { Length: > 0 } topic ? topic : Topics.AgentActions;

    private static string Required(string key) =>
        Configuration[key] ?? throw new InvalidOperationException(
            $"{key} is not set (environment variable {key.Replace(":", "__", StringComparison.Ordinal)}; `source .local/stack.env` after infra/up).");
}
