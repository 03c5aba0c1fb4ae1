using AuditPipeline.Projections;
using AuditPipeline.ClickHouse;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity.Store;
using AuditPipeline.Resilience;
using AuditPipeline.Subscriptions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuditPipeline.ProjectionService;

/// <summary>
/// The projections of this service: the ClickHouse projection, the read models and the Merkle
/// tree, run by the process's <see cref="SubscriptionHost"/> (one active instance per deployment,
/// others wait as standbys; failures restart a projection from its checkpoint, and the
/// projection's own idempotency makes the replay safe). Beside them it signs periodic
/// checkpoints of the tree.
/// </summary>
public sealed class ProjectionWorker : BackgroundService, ISubscriptionSource
{
    private readonly ClickHouseClient _clickHouse;
    private readonly IOptions<IntegrityOptions> _integrity;
    private readonly ILogger<ProjectionWorker> _logger;
    private readonly CheckpointService? _checkpoints;
    private readonly MerkleTreeProjection _tree;

    public ProjectionWorker(
        NpgsqlDataSource store, ClickHouseClient clickHouse, IOptions<ProjectionOptions> options, IOptions<IntegrityOptions> integrity,
        ILogger<ProjectionWorker> logger, CheckpointService? checkpoints = null)
    {
        _clickHouse = clickHouse;
        _integrity = integrity;
        _logger = logger;
        _checkpoints = checkpoints;
        _tree = new MerkleTreeProjection(store, logger);
        var restart = Backoff.UpTo(TimeSpan.FromMilliseconds(200), options.Value.MaxRetryDelayMs);
        var subscriptionOptions = new SubscriptionOptions { BatchSize = options.Value.BatchSize };
        HostedSubscription Projection(string name, Func<CancellationToken, Task<EventBatchHandler>> start) =>
            new(name, start) { Kind = "Projection", Options = subscriptionOptions, Restart = restart };
        Subscriptions =
        [
            Projection(MerkleTreeProjection.SubscriptionName, _ => Task.FromResult<EventBatchHandler>(_tree.HandleAsync)),
            Projection(ClickHouseActionsProjection.SubscriptionName, StartClickHouseAsync),
            Projection(ReadModelProjection.SubscriptionName, _ => Task.FromResult<EventBatchHandler>(new ReadModelProjection(store).HandleAsync)),
        ];
    }

    public IEnumerable<HostedSubscription> Subscriptions { get; }

    private async Task<EventBatchHandler> StartClickHouseAsync(CancellationToken ct)
    {
        var schema = new ClickHouseSchema(_clickHouse);
        await schema.ApplyAsync(ct);
        foreach (var view in await schema.RepairViewsAsync(ct))
        {
            _logger.LogWarning("ClickHouse view {View} did not match agent_actions (a server crash mid-insert); refilled it from agent_actions", view);
        }
        return new ClickHouseActionsProjection(_clickHouse).HandleAsync;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_checkpoints is null)
        {
            _logger.LogWarning("No checkpoint signing key (Integrity:SigningKeyFile): the Merkle tree is kept but no checkpoints are signed");
            return;
        }
        try
        {
            await _tree.SignPeriodicallyAsync(_checkpoints, TimeSpan.FromSeconds(_integrity.Value.CheckpointIntervalSeconds), stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
