using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using AuditPipeline.EventStore;
using AuditPipeline.Kafka;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuditPipeline.ServiceDefaults;

/// <summary>The one registration every service starts with; each service then adds only what is its own.</summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>
    /// Secrets as files, the clock, the store's options (validated at start) and its data source
    /// (named after the service, so each shows in pg_stat_activity), the event store (both write interfaces), Kafka settings
    /// and telemetry. <paramref name="web"/>: the service is an ASP.NET Core app (request metrics and
    /// traces, the /metrics endpoint).
    /// </summary>
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder, string serviceName, bool web = false)
    {
        // Secrets as files (Docker/Kubernetes secrets) override the environment; see SecretFiles.
        builder.Configuration.AddKeyPerFile(SecretFiles.Directory, optional: true);
        var services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        services.AddOptions<StoreOptions>().BindConfiguration(StoreOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp =>
        {
            var connection = new NpgsqlConnectionStringBuilder(sp.GetRequiredService<IOptions<StoreOptions>>().Value.ConnectionString);
            if (string.IsNullOrEmpty(connection.ApplicationName))
            {
                connection.ApplicationName = $"auditpipeline-{serviceName}";
            }
            return new NpgsqlDataSourceBuilder(connection.ConnectionString).Build();
        });
        services.AddSingleton(sp => new PostgresEventStore(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<StoreOptions>>().Value.QuarantineMaxRawBytes));
        // One store, two narrow doors: ingest's batch append, and stream writes with an expected version.
        services.AddSingleton<IEventStore>(sp => sp.GetRequiredService<PostgresEventStore>());
        services.AddSingleton<IStreamWriter>(sp => sp.GetRequiredService<PostgresEventStore>());
        services.AddOptions<KafkaOptions>().BindConfiguration(KafkaOptions.Section);
        Telemetry.Add(builder, serviceName, web);
        return builder;
    }
}
