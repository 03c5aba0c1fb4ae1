using AuditPipeline.Contracts;
using System.Collections.Concurrent;
using AuditPipeline.EventStore;
using AuditPipeline.Emitter;
using AuditPipeline.IntegrationTests.Infrastructure;
using AuditPipeline.Testing;
using Xunit;

namespace AuditPipeline.IntegrationTests;

/// <summary>Store subscriptions on a real PostgreSQL: order, gap safety, checkpoints, leader lock.</summary>
[Collection(PipelineCollection.Name)]
public sealed class SubscriptionTests(PipelineFixture fx)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly SampleFleet _fleet = new(5, seed: 21);

    [Fact]
    public async Task Catch_up_then_live_tailing_delivers_every_event_once_in_log_order()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var ds = store.SeedDataSource();
        var eventStore = new PostgresEventStore(ds, TimeProvider.System);
        for (var i = 0; i < 3; i++)
        {
            await eventStore.AppendAsync(Events(400), [], default);
        }

        var seen = new ConcurrentQueue<StoredEvent>();
        using var stop = new CancellationTokenSource();
        var subscription = new StoreSubscription(ds, "test-tail", (batch, _) =>
        {
            foreach (var e in batch)
            {
                seen.Enqueue(e);
            }
            return Task.CompletedTask;
        }, new SubscriptionOptions { BatchSize = 250, IdlePoll = TimeSpan.FromSeconds(30) });
        var running = subscription.RunAsync(stop.Token);

        await WaitUntilAsync(() => seen.Count >= 1_200, () => $"caught up to {seen.Count}");
        // Live: the idle poll is 30 s, so anything arriving within the wait came through NOTIFY.
        for (var i = 0; i < 4; i++)
        {
            await eventStore.AppendAsync(Events(50), [], default);
        }
        await WaitUntilAsync(() => seen.Count >= 1_400, () => $"tailed to {seen.Count}");
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);

        Assert.Equal(Enumerable.Range(1, 1_400).Select(i => (long)i), seen.Select(e => e.GlobalSeq));
        Assert.Equal(1_400, await store.CountAsync("SELECT position FROM audit.subscription_checkpoints WHERE name = 'test-tail'"));
    }

    [Fact]
    public async Task An_append_committing_late_is_never_skipped_and_a_rolled_back_one_leaves_no_gap()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var ds = store.SeedDataSource();
        await new PostgresEventStore(ds, TimeProvider.System).AppendAsync(Events(10), [], default);

        var seen = new ConcurrentQueue<long>();
        using var stop = new CancellationTokenSource();
        var subscription = new StoreSubscription(ds, "test-gaps", (batch, _) =>
        {
            foreach (var e in batch)
            {
                seen.Enqueue(e.GlobalSeq);
            }
            return Task.CompletedTask;
        }, new SubscriptionOptions { IdlePoll = TimeSpan.FromMilliseconds(100) });
        var running = subscription.RunAsync(stop.Token);
        await WaitUntilAsync(() => seen.Count == 10, () => $"{seen.Count} of the first 10");

        // Writer A takes the next positions and stalls inside its transaction (its clock blocks).
        using var gateA = new GatedClock();
        var appendA = Task.Run(() => new PostgresEventStore(ds, gateA).AppendAsync(Events(20), [], default));
        await gateA.Entered.WaitAsync(Patience);
        // Writer B, started later, must commit after A: it waits on the log position lock.
        var appendB = Task.Run(() => new PostgresEventStore(ds, TimeProvider.System).AppendAsync(Events(30), [], default));
        await Task.Delay(1_000);
        Assert.False(appendB.IsCompleted, "B must not commit ahead of A");
        Assert.Equal(10, seen.Count);

        gateA.Release();
        await Task.WhenAll(appendA, appendB);
        await WaitUntilAsync(() => seen.Count == 60, () => $"{seen.Count} of 60");
        Assert.Equal(Enumerable.Range(1, 60).Select(i => (long)i), seen);

        // Writer C stalls and then fails: its transaction rolls back and returns its positions.
        using var gateC = new GatedClock();
        var appendC = Task.Run(() => new PostgresEventStore(ds, gateC).AppendAsync(Events(5), [], default));
        await gateC.Entered.WaitAsync(Patience);
        var appendD = Task.Run(() => new PostgresEventStore(ds, TimeProvider.System).AppendAsync(Events(7), [], default));
        gateC.Fail();
        await Assert.ThrowsAsync<InvalidOperationException>(() => appendC);
        await appendD;
        await WaitUntilAsync(() => seen.Count == 67, () => $"{seen.Count} of 67");
        Assert.Equal(Enumerable.Range(1, 67).Select(i => (long)i), seen);

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
    }

    [Fact]
    public async Task Only_one_instance_of_a_subscription_is_active_and_a_standby_takes_over()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var ds = store.SeedDataSource();
        var eventStore = new PostgresEventStore(ds, TimeProvider.System);
        await eventStore.AppendAsync(Events(100), [], default);

        var handled = new ConcurrentQueue<(string Instance, long Seq)>();
        StoreSubscription Instance(string id) => new(ds, "test-leader", (batch, _) =>
        {
            foreach (var e in batch)
            {
                handled.Enqueue((id, e.GlobalSeq));
            }
            return Task.CompletedTask;
        }, new SubscriptionOptions { StandbyRetry = TimeSpan.FromMilliseconds(200), IdlePoll = TimeSpan.FromMilliseconds(200) });

        using var stopFirst = new CancellationTokenSource();
        using var stopSecond = new CancellationTokenSource();
        var first = Instance("first");
        var second = Instance("second");
        var runFirst = first.RunAsync(stopFirst.Token);
        await WaitUntilAsync(() => first.IsActive && handled.Count == 100, () => $"first active={first.IsActive}, handled {handled.Count}");
        var runSecond = second.RunAsync(stopSecond.Token);
        await eventStore.AppendAsync(Events(50), [], default);
        await WaitUntilAsync(() => handled.Count == 150, () => $"handled {handled.Count}");
        Assert.False(second.IsActive);
        Assert.All(handled, h => Assert.Equal("first", h.Instance));

        await stopFirst.CancelAsync(); // the leader goes away; its lock goes with its connection
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => runFirst);
        await eventStore.AppendAsync(Events(50), [], default);
        await WaitUntilAsync(() => second.IsActive && handled.Count == 200, () => $"second active={second.IsActive}, handled {handled.Count}");

        Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), handled.Select(h => h.Seq));
        Assert.All(handled.Skip(150), h => Assert.Equal("second", h.Instance));
        await stopSecond.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => runSecond);
    }

    private List<IncomingEvent> Events(int count) => TestEvents.AcrossFleet(_fleet, count);

    private static Task WaitUntilAsync(Func<bool> condition, Func<string> describe) =>
        PipelineFixture.WaitUntilAsync(() => Task.FromResult(condition()), Patience, () => Task.FromResult(describe()));

    /// <summary>
    /// The store reads the clock right after taking the log position lock; blocking here holds
    /// an append open mid-transaction, which is how the tests build a slow or failing writer.
    /// </summary>
    private sealed class GatedClock : TimeProvider, IDisposable
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ManualResetEventSlim _gate = new();
        private volatile bool _fail;

        public Task Entered => _entered.Task;

        public void Dispose() => _gate.Dispose();

        public void Release() => _gate.Set();

        public void Fail()
        {
            _fail = true;
            _gate.Set();
        }

        public override DateTimeOffset GetUtcNow()
        {
            _entered.TrySetResult();
            _gate.Wait(TimeSpan.FromMinutes(1));
            return _fail ? throw new InvalidOperationException("writer failed mid-append") : DateTimeOffset.UtcNow;
        }
    }
}
