using AuditPipeline.ClickHouse;
using AuditPipeline.Core.Store;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuditPipeline.Projections;

/// <summary>
/// Runs the ClickHouse projection as a store subscription (one active instance per deployment;
/// others wait as standbys). Failures (ClickHouse or PostgreSQL down) restart the subscription
/// from its checkpoint after a backoff; the projection's own idempotency makes the replay safe.
/// </summary>
public sealed class ProjectionWorker(
    NpgsqlDataSource store, ClickHouseClient clickHouse, IOptions<ProjectionOptions> options, ILogger<ProjectionWorker> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await new ClickHouseSchema(clickHouse).ApplyAsync(stoppingToken);
                var projection = new ClickHouseActionsProjection(clickHouse);
                var lastReport = DateTime.UtcNow;
                var subscription = new StoreSubscription(store, ClickHouseActionsProjection.SubscriptionName, async (batch, ct) =>
                {
                    await projection.HandleAsync(batch, ct);
                    if (DateTime.UtcNow - lastReport > TimeSpan.FromSeconds(10))
                    {
                        lastReport = DateTime.UtcNow;
                        logger.LogInformation("Projection {Name} at log position {Position}", ClickHouseActionsProjection.SubscriptionName, batch[^1].GlobalSeq);
                    }
                },
                new SubscriptionOptions
                {
                    BatchSize = options.Value.BatchSize,
                    OnActivated = _ =>
                    {
                        logger.LogInformation("Projection {Name} is active: this instance holds the leader lock", ClickHouseActionsProjection.SubscriptionName);
                        return Task.CompletedTask;
                    },
                });
                logger.LogInformation("Projection {Name} starting (a standby until no other instance runs it)", ClickHouseActionsProjection.SubscriptionName);
                await subscription.RunAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is not OperationCanceledException)
            {
                logger.LogWarning("Projection {Name} failed ({Error}); restarting from its checkpoint in {Delay} ms",
                    ClickHouseActionsProjection.SubscriptionName, ex.Message, (int)delay.TotalMilliseconds);
                await Task.Delay(delay, stoppingToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, options.Value.MaxRetryDelayMs));
            }
        }
    }
}
