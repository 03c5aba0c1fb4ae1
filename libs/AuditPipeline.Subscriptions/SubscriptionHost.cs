using AuditPipeline.EventStore;
using AuditPipeline.Resilience;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AuditPipeline.Subscriptions;

/// <summary>
/// Runs every subscription of a process (projections, detectors, alert sinks): each one is a
/// <see cref="StoreSubscription"/> (one active instance per name across processes, standbys
/// otherwise, checkpoint saved after each handled batch), restarted from its checkpoint by the
/// one <see cref="RestartPolicy"/> when it fails, without stopping the others. All their leader
/// locks share one connection (<see cref="LeaderLocks"/>, which explains what happens when it
/// dies); each active subscription still has its own LISTEN connection.
/// </summary>
public sealed class SubscriptionHost(
    NpgsqlDataSource store, IEnumerable<HostedSubscription> subscriptions, ILogger<SubscriptionHost> logger, LeaderLockOptions? lockOptions = null)
    : BackgroundService
{
    private static readonly TimeSpan ReportEvery = TimeSpan.FromSeconds(10);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => RunAsync(stoppingToken);

    /// <summary>Runs every subscription until cancelled (one with StopWhenCaughtUp ends when caught up).</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        await using var leaders = new LeaderLocks(store, lockOptions ?? LeaderLockOptions.ForHost());
        try
        {
            await Task.WhenAll(subscriptions.Select(s => RunAsync(s, leaders, ct)));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task RunAsync(HostedSubscription hosted, LeaderLocks leaders, CancellationToken ct)
    {
        var restarts = new RestartPolicy(hosted.Restart, wait => logger.LogWarning(
            "{Kind} {Name} failed ({Error}); restarting from its checkpoint in {Delay} ms",
            hosted.Kind, hosted.Name, wait.Error.Message, (int)wait.Delay.TotalMilliseconds));
        await restarts.RunAsync(async (progressed, token) =>
        {
            var handler = await hosted.StartAsync(token);
            var lastReport = DateTime.UtcNow;
            var subscription = new StoreSubscription(store, hosted.Name, async (batch, batchToken) =>
            {
                await handler(batch, batchToken);
                progressed();
                if (DateTime.UtcNow - lastReport > ReportEvery)
                {
                    lastReport = DateTime.UtcNow;
                    logger.LogInformation("{Kind} {Name} at log position {Position}", hosted.Kind, hosted.Name, batch[^1].GlobalSeq);
                }
            },
            hosted.Options with
            {
                OnActivated = async activatedToken =>
                {
                    logger.LogInformation("{Kind} {Name} is active: this instance holds the leader lock", hosted.Kind, hosted.Name);
                    if (hosted.Options.OnActivated is { } onActivated)
                    {
                        await onActivated(activatedToken);
                    }
                },
            }, leaders);
            hosted.Current = subscription;
            logger.LogInformation("{Kind} {Name} starting (a standby until no other instance runs it)", hosted.Kind, hosted.Name);
            try
            {
                await subscription.RunAsync(token);
            }
            catch (OperationCanceledException ex) when (!token.IsCancellationRequested)
            {
                // A timeout inside a handler, not the host stopping: a failure like any other.
                throw new InvalidOperationException($"{hosted.Kind} {hosted.Name} was cancelled: {ex.Message}", ex);
            }
        }, ct);
    }
}

public static class SubscriptionHostExtensions
{
    /// <summary>One host for the process, running the subscriptions of every registered <see cref="ISubscriptionSource"/>.</summary>
    public static IServiceCollection AddSubscriptionHost(this IServiceCollection services) =>
        services.AddHostedService(sp => new SubscriptionHost(
            sp.GetRequiredService<NpgsqlDataSource>(),
            sp.GetServices<ISubscriptionSource>().SelectMany(s => s.Subscriptions).ToList(),
            sp.GetRequiredService<ILogger<SubscriptionHost>>()));

    /// <summary>Registers <typeparamref name="T"/> once, as a source of subscriptions and, if it is one, as a hosted service of its own.</summary>
    public static IServiceCollection AddSubscriptionSource<T>(this IServiceCollection services) where T : class, ISubscriptionSource
    {
        services.AddSingleton<T>();
        services.AddSingleton<ISubscriptionSource>(sp => sp.GetRequiredService<T>());
        if (typeof(IHostedService).IsAssignableFrom(typeof(T)))
        {
            services.AddSingleton(sp => (IHostedService)sp.GetRequiredService<T>());
        }
        return services;
    }
}
