using AuditPipeline.Contracts.Validation;
using AuditPipeline.EventStore;
using AuditPipeline.Kafka;
using AuditPipeline.Redaction;
using AuditPipeline.ServiceDefaults;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuditPipeline.Ingest;

public static class IngestServiceCollectionExtensions
{
    /// <summary>The ingest worker and what it needs, options bound and validated at start.</summary>
    public static IHostApplicationBuilder AddIngest(this IHostApplicationBuilder builder)
    {
        builder.AddServiceDefaults("ingest");
        builder.Services.AddOptions<IngestOptions>().BindConfiguration(IngestOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        // Ingest cannot run without a broker and refuses settings that would lose or reorder events.
        builder.Services.AddOptions<KafkaOptions>()
            .Validate(k => !string.IsNullOrWhiteSpace(k.BootstrapServers) || !string.IsNullOrWhiteSpace(k.BootstrapFile),
                "Set Kafka:BootstrapServers or Kafka:BootstrapFile.")
            .Validate(k => UnsafeKafkaSettings.Problems(k) is not { Count: > 0 } problems
                ? true : throw new OptionsValidationException(KafkaOptions.Section, typeof(KafkaOptions), problems))
            .ValidateOnStart();
        builder.Services.AddOptions<ValidationLimits>().BindConfiguration("Ingest:Validation").ValidateDataAnnotations().ValidateOnStart();

        builder.Services.AddSingleton(sp => new EventDecoder(sp.GetRequiredService<IOptions<ValidationLimits>>().Value));
        builder.Services.AddOptions<RedactionOptions>().BindConfiguration(RedactionOptions.Section)
            .Validate(r => r.Problems().Count == 0, "Redaction settings are invalid (the start-up log names each problem).")
            .ValidateOnStart();
        builder.Services.AddSingleton(sp => new IngestRedaction(CreateRedactor(sp)));
        builder.Services.AddSingleton<DeadLetterPublisher>();
        builder.Services.AddSingleton<IngestMetrics>();
        builder.Services.AddHostedService<IngestWorker>();
        return builder;
    }

    /// <summary>The redactor, or null (fields stored as sent) when no master key is configured.</summary>
    private static PayloadRedactor? CreateRedactor(IServiceProvider sp)
    {
        var options = sp.GetRequiredService<IOptions<RedactionOptions>>().Value;
        var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("AuditPipeline.Ingest.Redaction");
        foreach (var problem in options.Problems())
        {
            logger.LogCritical("{Problem}", problem);
        }
        if (!options.Enabled)
        {
            logger.LogWarning("Redaction is off (no Redaction:MasterKeyFile): payload fields are stored as sent; see docs/redaction.md");
            return null;
        }
        var clock = sp.GetRequiredService<TimeProvider>();
        var keys = new SubjectKeyStore(sp.GetRequiredService<NpgsqlDataSource>(), new RedactionKeys(options.LoadMasterKey()), clock);
        logger.LogInformation("Redaction on: encrypting [{Encrypted}] under per-subject keys, hashing [{Hashed}]",
            string.Join(", ", options.EncryptedFields), string.Join(", ", options.HashedFields));
        return new PayloadRedactor(sp.GetRequiredService<NpgsqlDataSource>(), keys, options.EncryptedFields, options.HashedFields, TimeSpan.FromSeconds(options.KeyCacheSeconds), clock);
    }
}

/// <summary>The ingest worker's redactor; null when redaction is off.</summary>
public sealed record IngestRedaction(PayloadRedactor? Redactor);
