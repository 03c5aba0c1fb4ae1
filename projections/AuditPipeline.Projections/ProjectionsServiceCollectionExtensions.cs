using AuditPipeline.ClickHouse;
using AuditPipeline.Core.Store;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuditPipeline.Projections;

public static class ProjectionsServiceCollectionExtensions
{
    public static IHostApplicationBuilder AddProjections(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<StoreOptions>().BindConfiguration(StoreOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<ClickHouseOptions>().BindConfiguration(ClickHouseOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<ProjectionOptions>().BindConfiguration(ProjectionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp => NpgsqlDataSource.Create(sp.GetRequiredService<IOptions<StoreOptions>>().Value.ConnectionString));
        // One long-lived HttpClient: the projector is a single long-running writer.
        builder.Services.AddSingleton(_ => new HttpClient { Timeout = TimeSpan.FromMinutes(5) });
        builder.Services.AddSingleton(sp => new ClickHouseClient(
            sp.GetRequiredService<HttpClient>(), new Uri(sp.GetRequiredService<IOptions<ClickHouseOptions>>().Value.Url)));
        builder.Services.AddHostedService<ProjectionWorker>();
        return builder;
    }
}
