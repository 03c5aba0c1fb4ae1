using AuditPipeline.Core.Kafka;
using AuditPipeline.Core.Store;
using AuditPipeline.Core.Validation;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuditPipeline.Ingest;

public static class IngestServiceCollectionExtensions
{
    /// <summary>The ingest worker and what it needs, options bound and validated at start.</summary>
    public static IHostApplicationBuilder AddIngest(this IHostApplicationBuilder builder)
    {
        // Secrets as files (Docker/Kubernetes secrets) override the environment; see SecretFiles.
        Microsoft.Extensions.Configuration.KeyPerFileConfigurationBuilderExtensions.AddKeyPerFile(builder.Configuration, AuditPipeline.Core.SecretFiles.Directory, optional: true);
        builder.Services.AddOptions<IngestOptions>().BindConfiguration(IngestOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<StoreOptions>().BindConfiguration(StoreOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<KafkaOptions>().BindConfiguration(KafkaOptions.Section)
            .Validate(k => !string.IsNullOrWhiteSpace(k.BootstrapServers) || !string.IsNullOrWhiteSpace(k.BootstrapFile),
                "Set Kafka:BootstrapServers or Kafka:BootstrapFile.")
            .ValidateOnStart();
        builder.Services.AddOptions<ValidationLimits>().BindConfiguration("Ingest:Validation").ValidateDataAnnotations().ValidateOnStart();

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => NpgsqlDataSource.Create(sp.GetRequiredService<IOptions<StoreOptions>>().Value.ConnectionString));
        builder.Services.AddSingleton<IEventStore>(sp => new PostgresEventStore(
            sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<StoreOptions>>().Value.QuarantineMaxRawBytes));
        builder.Services.AddSingleton(sp => new EventDecoder(sp.GetRequiredService<IOptions<ValidationLimits>>().Value));
        builder.Services.AddSingleton<DeadLetterPublisher>();
        builder.Services.AddSingleton<IngestMetrics>();
        builder.Services.AddHostedService<IngestWorker>();
        return builder;
    }
}
