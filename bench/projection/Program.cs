using System.Diagnostics;
using System.Globalization;
using AuditPipeline.ClickHouse;
using AuditPipeline.EventStore;
using AuditPipeline.Emitter;
using AuditPipeline.Projections;
using AuditPipeline.Bench.Projection;
using AuditPipeline.Testing;

// bench/projection: in one run, against the same ClickHouse,
//   (a) the bound: RowBinary inserts of the same rows (already encoded) into an identical table
//       (same DDL, materialized views included), 20,000 rows per insert;
//   (b) the projection catching up from zero to the head of a store of N events;
// then a live phase at ~5,000 events/s measuring store-commit → ClickHouse-visible latency.
// Last line: projection rows_per_s=<b> raw_insert_per_s=<a> ratio=<b/a> lag_p99_ms=<n>
var events = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) is { } n ? int.Parse(n, CultureInfo.InvariantCulture) : 500_000;
Console.WriteLine($"bench/projection: {events} stored events, {Environment.ProcessorCount} cores");

await using var postgres = await PostgresServer.StartAsync();
await using var clickHouseServer = await ClickHouseServer.StartAsync();
var store = await postgres.CreateStoreAsync();
using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
var root = new ClickHouseClient(http, clickHouseServer.HttpUri);
await root.ExecuteAsync("CREATE DATABASE bound", default);
await root.ExecuteAsync("CREATE DATABASE projected", default);
var bound = new ClickHouseClient(http, new Uri($"{clickHouseServer.HttpUri}?database=bound"));
var projected = new ClickHouseClient(http, new Uri($"{clickHouseServer.HttpUri}?database=projected"));
await new ClickHouseSchema(bound).ApplyAsync(default);
await new ClickHouseSchema(projected).ApplyAsync(default);

await using var ds = store.SeedDataSource();
var fleet = new SampleFleet(200, seed: 500);
var eventStore = new PostgresEventStore(ds, TimeProvider.System);
var loadClock = Stopwatch.StartNew();
for (var done = 0; done < events; done += 5_000)
{
    var start = DateTimeOffset.UtcNow.AddHours(-2);
    await eventStore.AppendAsync(Enumerable.Range(done, Math.Min(5_000, events - done))
        .Select(i => TestEvents.Incoming(fleet.Next(fleet.Agents[i % 200], start.AddMilliseconds(i * 7_200_000.0 / events)), i)).ToList(), [], default);
}
Console.WriteLine($"loaded {events} events into the store in {loadClock.Elapsed.TotalSeconds:0.0}s");

var rawRate = await Bound.MeasureAsync(ds, bound);
Console.WriteLine($"(a) raw RowBinary insert: {rawRate:0} rows/s");

var projection = new ClickHouseActionsProjection(projected);
var catchUp = Stopwatch.StartNew();
await new StoreSubscription(ds, "bench-projection", projection.HandleAsync,
    new SubscriptionOptions { BatchSize = 20_000, StopWhenCaughtUp = true }).RunAsync(default);
catchUp.Stop();
var rate = events / catchUp.Elapsed.TotalSeconds;
Console.WriteLine($"(b) projection catch-up: {rate:0} rows/s ({catchUp.Elapsed.TotalSeconds:0.0}s)");

var lagP99 = await Live.MeasureLagP99Async(ds, eventStore, projected, fleet, eventsPerSecond: 5_000, seconds: 20);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"projection rows_per_s={rate:0} raw_insert_per_s={rawRate:0} ratio={rate / rawRate:0.00} lag_p99_ms={lagP99:0}"));
