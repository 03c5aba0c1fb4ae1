using AuditPipeline.Projections;
using AuditPipeline.ClickHouse;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity.Store;
using AuditPipeline.Kafka;
using AuditPipeline.ServiceDefaults;
using AuditPipeline.Subscriptions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuditPipeline.ProjectionService;

public static class ProjectionsServiceCollectionExtensions
{
    public static IHostApplicationBuilder AddProjections(this IHostApplicationBuilder builder)
    {
        builder.AddServiceDefaults("projections");
        builder.Services.AddOptions<ClickHouseOptions>().BindConfiguration(ClickHouseOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<ProjectionOptions>().BindConfiguration(ProjectionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        // One long-lived HttpClient: the projector is a single long-running writer.
        builder.Services.AddSingleton(_ => new HttpClient { Timeout = TimeSpan.FromMinutes(5) });
        builder.Services.AddSingleton(sp => new ClickHouseClient(
            sp.GetRequiredService<HttpClient>(), new Uri(sp.GetRequiredService<IOptions<ClickHouseOptions>>().Value.Url)));
        builder.Services.AddOptions<IntegrityOptions>().BindConfiguration(IntegrityOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp => new ProjectionWorker(
            sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<ClickHouseClient>(),
            sp.GetRequiredService<IOptions<ProjectionOptions>>(), sp.GetRequiredService<IOptions<IntegrityOptions>>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<ProjectionWorker>>(), CreateCheckpointService(sp)));
        // The worker signs checkpoints on its own; its projections run in the process's one subscription host.
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ProjectionWorker>());
        builder.Services.AddSingleton<ISubscriptionSource>(sp => sp.GetRequiredService<ProjectionWorker>());
        builder.Services.AddSubscriptionHost();
        return builder;
    }

    /// <summary>Checkpoints are signed only where a key is configured; the key is loaded once, at start.</summary>
    private static CheckpointService? CreateCheckpointService(IServiceProvider sp)
    {
        var integrity = sp.GetRequiredService<IOptions<IntegrityOptions>>().Value;
        if (!integrity.HasSigningKey)
        {
            return null;
        }
        var signer = integrity.LoadSigner();
        return new CheckpointService(sp.GetRequiredService<NpgsqlDataSource>(), signer,
            CheckpointService.SinksFrom(integrity, sp.GetRequiredService<IOptions<KafkaOptions>>().Value), earlierKeys: integrity.LoadTrustedKeys(signer));
    }
}
