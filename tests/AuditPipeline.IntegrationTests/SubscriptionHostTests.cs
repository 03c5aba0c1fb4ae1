using System.Collections.Concurrent;
using AuditPipeline.Contracts;
using AuditPipeline.Emitter;
using AuditPipeline.EventStore;
using AuditPipeline.IntegrationTests.Infrastructure;
using AuditPipeline.Resilience;
using AuditPipeline.Subscriptions;
using AuditPipeline.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace AuditPipeline.IntegrationTests;

/// <summary>The one subscription host on a real PostgreSQL: one lock connection, independent restarts from checkpoints.</summary>
[Collection(PipelineCollection.Name)]
public sealed class SubscriptionHostTests(PipelineFixture fx)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly SampleFleet _fleet = new(5, seed: 33);

    [Fact]
    public async Task A_host_holds_every_leader_lock_on_one_connection_and_a_failing_subscription_restarts_from_its_checkpoint_while_the_others_run()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var ds = store.SeedDataSource();
        var eventStore = new PostgresEventStore(ds, TimeProvider.System);
        await eventStore.AppendAsync(TestEvents.AcrossFleet(_fleet, 300), [], default);

        // Idempotent "projections": a position applied twice is applied once.
        var applied = new ConcurrentDictionary<string, ConcurrentDictionary<long, bool>>();
        var deliveries = new ConcurrentDictionary<string, int>();
        var flakyFails = true;
        var flakyFailures = 0;
        HostedSubscription Subscription(string name, bool flaky = false) => new(name, (batch, _) =>
        {
            var seen = applied.GetOrAdd(name, _ => new());
            foreach (var e in batch)
            {
                deliveries.AddOrUpdate(name, 1, (_, n) => n + 1);
                seen[e.GlobalSeq] = true;
                // Half a batch applied, then a failure: the replay from the checkpoint repeats that half.
                if (flaky && Volatile.Read(ref flakyFails) && e.GlobalSeq == 150)
                {
                    Interlocked.Increment(ref flakyFailures);
                    throw new InvalidOperationException("the sink is down");
                }
            }
            return Task.CompletedTask;
        })
        {
            Options = new SubscriptionOptions { BatchSize = 100, IdlePoll = TimeSpan.FromMilliseconds(100), StandbyRetry = TimeSpan.FromMilliseconds(100) },
            Restart = new Backoff(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200)),
        };
        var host = new SubscriptionHost(ds, [Subscription("host-a"), Subscription("host-b"), Subscription("host-flaky", flaky: true)],
            NullLogger<SubscriptionHost>.Instance);
        using var stop = new CancellationTokenSource();
        var running = host.RunAsync(stop.Token);

        await WaitUntilAsync(() => Count("host-a") == 300 && Count("host-b") == 300 && Volatile.Read(ref flakyFailures) >= 3,
            () => $"a {Count("host-a")}, b {Count("host-b")}, flaky failures {flakyFailures}");
        // The others go on while one keeps failing.
        await eventStore.AppendAsync(TestEvents.AcrossFleet(_fleet, 100), [], default);
        await WaitUntilAsync(() => Count("host-a") == 400 && Count("host-b") == 400, () => $"a {Count("host-a")}, b {Count("host-b")}");
        Assert.Equal(100, await store.CountAsync("SELECT position FROM audit.subscription_checkpoints WHERE name = 'host-flaky'"));

        // Three leases, one backend, one connection named as the lock connection.
        const string advisory = "FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";
        Assert.Equal(3, await store.CountAsync($"SELECT count(*) {advisory}"));
        Assert.Equal(1, await store.CountAsync($"SELECT count(DISTINCT pid) {advisory}"));
        Assert.Equal(1, await store.CountAsync(
            $"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = '{LeaderLocks.ApplicationName}'"));

        Volatile.Write(ref flakyFails, false);
        await WaitUntilAsync(() => Count("host-flaky") == 400, () => $"flaky {Count("host-flaky")}");
        await WaitUntilAsync(async () => await store.CountAsync("SELECT position FROM audit.subscription_checkpoints WHERE name = 'host-flaky'") == 400, () => "flaky checkpoint");

        // Each failure replayed 101..150 from checkpoint 100; the idempotent result holds each position once.
        Assert.Equal(Enumerable.Range(1, 400).Select(i => (long)i), applied["host-flaky"].Keys.Order());
        Assert.Equal(400 + (50 * flakyFailures), deliveries["host-flaky"]);
        Assert.Equal(400, deliveries["host-a"]);
        Assert.Equal(400, deliveries["host-b"]);

        await stop.CancelAsync();
        await running.WaitAsync(Patience);
        Assert.Equal(0, await store.CountAsync($"SELECT count(*) {advisory}"));

        int Count(string name) => applied.TryGetValue(name, out var seen) ? seen.Count : 0;
    }

    private static Task WaitUntilAsync(Func<bool> condition, Func<string> describe) =>
        PipelineFixture.WaitUntilAsync(() => Task.FromResult(condition()), Patience, () => Task.FromResult(describe()));

    private static Task WaitUntilAsync(Func<Task<bool>> condition, Func<string> describe) =>
        PipelineFixture.WaitUntilAsync(condition, Patience, () => Task.FromResult(describe()));
}
