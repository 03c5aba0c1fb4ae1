using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using AuditPipeline.ClickHouse;
using AuditPipeline.EventStore;
using AuditPipeline.Emitter;
using AuditPipeline.Projections;
using AuditPipeline.Testing;
using Npgsql;

namespace AuditPipeline.Bench.Projection;

/// <summary>
/// Live phase: appends ~eventsPerSecond in 100 ms batches while the projection tails the store;
/// a poller notes when each batch's last position becomes visible in ClickHouse.
/// </summary>
internal static class Live
{
    public static async Task<double> MeasureLagP99Async(
        NpgsqlDataSource store, PostgresEventStore eventStore, ClickHouseClient clickHouse, SampleFleet fleet, int eventsPerSecond, int seconds)
    {
        using var stop = new CancellationTokenSource();
        var projection = new ClickHouseActionsProjection(clickHouse);
        var tailing = new StoreSubscription(store, "bench-projection", projection.HandleAsync,
            new SubscriptionOptions { BatchSize = 20_000 }).RunAsync(stop.Token);

        var committed = new ConcurrentQueue<(long Head, long CommittedAt)>();
        var lags = new List<double>();
        var poller = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested || !committed.IsEmpty)
            {
                var visible = long.Parse((await clickHouse.QueryAsync("SELECT max(global_seq) FROM agent_actions FORMAT TSV", default)).Trim(), CultureInfo.InvariantCulture);
                var now = Stopwatch.GetTimestamp();
                while (committed.TryPeek(out var c) && c.Head <= visible)
                {
                    committed.TryDequeue(out _);
                    lags.Add(Stopwatch.GetElapsedTime(c.CommittedAt, now).TotalMilliseconds);
                }
                await Task.Delay(10);
            }
        });

        var perTick = eventsPerSecond / 10;
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        var clock = Stopwatch.StartNew();
        var agent = 0;
        while (clock.Elapsed.TotalSeconds < seconds && await tick.WaitForNextTickAsync())
        {
            var batch = Enumerable.Range(0, perTick).Select(_ => TestEvents.Incoming(fleet.Next(fleet.Agents[agent++ % fleet.Agents.Count], DateTimeOffset.UtcNow))).ToList();
            var result = await eventStore.AppendAsync(batch, [], default);
            committed.Enqueue((result.Head.Value, Stopwatch.GetTimestamp()));
        }
        var sent = clock.Elapsed;
        while (!committed.IsEmpty && clock.Elapsed < sent + TimeSpan.FromSeconds(60))
        {
            await Task.Delay(50);
        }
        await stop.CancelAsync();
        await poller;
        try
        {
            await tailing;
        }
        catch (OperationCanceledException)
        {
        }
        lags.Sort();
        Console.WriteLine($"live: {lags.Count} batches of {perTick} at {eventsPerSecond}/s; lag p50 {lags[lags.Count / 2]:0} ms, p99 {lags[(int)(lags.Count * 0.99)]:0} ms, max {lags[^1]:0} ms");
        return lags[(int)(lags.Count * 0.99)];
    }
}
