using AuditPipeline.Projections;
using AuditPipeline.ClickHouse;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity.Store;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuditPipeline.ProjectionService;

/// <summary>
/// Runs the ClickHouse projection, the read models and the Merkle tree (with periodic signed
/// checkpoints) as store subscriptions (one active instance per deployment;
/// others wait as standbys). Failures (ClickHouse or PostgreSQL down) restart the subscription
/// from its checkpoint after a backoff; the projection's own idempotency makes the replay safe.
/// </summary>
public sealed class ProjectionWorker(
    NpgsqlDataSource store, ClickHouseClient clickHouse, IOptions<ProjectionOptions> options, IOptions<IntegrityOptions> integrity,
    ILogger<ProjectionWorker> logger, CheckpointService? checkpoints = null)
    : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var tree = new MerkleTreeProjection(store, logger);
        if (checkpoints is null)
        {
            logger.LogWarning("No checkpoint signing key (Integrity:SigningKeyFile): the Merkle tree is kept but no checkpoints are signed");
        }
        return Task.WhenAll(
            RunAsync(MerkleTreeProjection.SubscriptionName, _ => Task.FromResult<EventBatchHandler>(tree.HandleAsync), stoppingToken),
            checkpoints is null
                ? Task.CompletedTask
                : SignCheckpointsAsync(tree, checkpoints, stoppingToken),
            RunAsync(ClickHouseActionsProjection.SubscriptionName, async ct =>
            {
                var schema = new ClickHouseSchema(clickHouse);
                await schema.ApplyAsync(ct);
                foreach (var view in await schema.RepairViewsAsync(ct))
                {
                    logger.LogWarning("ClickHouse view {View} did not match agent_actions (a server crash mid-insert); refilled it from agent_actions", view);
                }
                return new ClickHouseActionsProjection(clickHouse).HandleAsync;
            }, stoppingToken),
            RunAsync(ReadModelProjection.SubscriptionName,
                _ => Task.FromResult<EventBatchHandler>(new ReadModelProjection(store).HandleAsync), stoppingToken));
    }

    private async Task SignCheckpointsAsync(MerkleTreeProjection tree, CheckpointService service, CancellationToken ct)
    {
        try
        {
            await tree.SignPeriodicallyAsync(service, TimeSpan.FromSeconds(integrity.Value.CheckpointIntervalSeconds), ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>Runs one projection as a subscription, restarting it from its checkpoint after failures.</summary>
    private async Task RunAsync(string name, Func<CancellationToken, Task<EventBatchHandler>> start, CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var handler = await start(stoppingToken);
                var lastReport = DateTime.UtcNow;
                var subscription = new StoreSubscription(store, name, async (batch, ct) =>
                {
                    await handler(batch, ct);
                    if (DateTime.UtcNow - lastReport > TimeSpan.FromSeconds(10))
                    {
                        lastReport = DateTime.UtcNow;
                        logger.LogInformation("Projection {Name} at log position {Position}", name, batch[^1].GlobalSeq);
                    }
                },
                new SubscriptionOptions
                {
                    BatchSize = options.Value.BatchSize,
                    OnActivated = _ =>
                    {
                        logger.LogInformation("Projection {Name} is active: this instance holds the leader lock", name);
                        return Task.CompletedTask;
                    },
                });
                logger.LogInformation("Projection {Name} starting (a standby until no other instance runs it)", name);
                await subscription.RunAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested && ex is not OperationCanceledException)
            {
                logger.LogWarning("Projection {Name} failed ({Error}); restarting from its checkpoint in {Delay} ms",
                    name, ex.Message, (int)delay.TotalMilliseconds);
                await Task.Delay(delay, stoppingToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, options.Value.MaxRetryDelayMs));
            }
        }
    }
}
