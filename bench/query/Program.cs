using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using AuditPipeline.Bench.Query;
using AuditPipeline.ClickHouse;
using AuditPipeline.Access;
using AuditPipeline.EventStore;
using AuditPipeline.Emitter;
using AuditPipeline.Projections;
using AuditPipeline.Testing;

// bench/query: loads N events (default 2,000,000: 500 agents over 7 days) into a store, projects
// them (ClickHouse, read models), starts the real query API process on loopback, and measures
// with C concurrent clients (default 8) for S seconds each (default 20):
//   why-authorized lookups of random events, and one-agent one-day action searches.
// Last line: query why_p99_ms=<n> search_p99_ms=<n> rps=<n>
var events = Arg("--events", 2_000_000);
var clients = Arg("--clients", 8);
var seconds = Arg("--seconds", 20);
const int Agents = 500;
Console.WriteLine($"bench/query: {events:N0} events, {Agents} agents over 7 days, {clients} clients × {seconds}s per phase, {Environment.ProcessorCount} cores");

await using var postgres = await PostgresServer.StartAsync();
await using var clickHouseServer = await ClickHouseServer.StartAsync();
var store = await postgres.CreateStoreAsync();
using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
await new ClickHouseClient(http, clickHouseServer.HttpUri).ExecuteAsync("CREATE DATABASE bench", default);
var clickHouseUrl = $"{clickHouseServer.HttpUri}?database=bench";
var clickHouse = new ClickHouseClient(http, new Uri(clickHouseUrl));
await new ClickHouseSchema(clickHouse).ApplyAsync(default);

await using var ds = store.SeedDataSource();
var fleet = new SampleFleet(Agents, seed: 2026);
var eventStore = new PostgresEventStore(ds, TimeProvider.System);
var end = DateTimeOffset.UtcNow.AddMinutes(-5);
var start = end.AddDays(-7);
var clock = Stopwatch.StartNew();
for (var done = 0; done < events; done += 5_000)
{
    await eventStore.AppendAsync(Enumerable.Range(done, Math.Min(5_000, events - done))
        .Select(i => TestEvents.Incoming(fleet.Next(fleet.Agents[i % Agents], start.AddSeconds(i * (end - start).TotalSeconds / events)), i)).ToList(), [], default);
}
Console.WriteLine($"loaded the store in {clock.Elapsed.TotalSeconds:0}s");
clock.Restart();
await Task.WhenAll(
    new StoreSubscription(ds, ClickHouseActionsProjection.SubscriptionName, new ClickHouseActionsProjection(clickHouse).HandleAsync,
        new SubscriptionOptions { BatchSize = 20_000, StopWhenCaughtUp = true }).RunAsync(default),
    new StoreSubscription(ds, ReadModelProjection.SubscriptionName, new ReadModelProjection(ds).HandleAsync,
        new SubscriptionOptions { BatchSize = 20_000, StopWhenCaughtUp = true }).RunAsync(default));
Console.WriteLine($"projected to ClickHouse and the read models in {clock.Elapsed.TotalSeconds:0}s");
await using (var admin = store.AdminDataSource())
await using (var analyze = admin.CreateCommand("ANALYZE"))
{
    await analyze.ExecuteNonQueryAsync(); // as the owner: the app role may not analyze the tables
}

var (_, token) = await new ApiKeyStore(ds, TimeProvider.System).CreateAsync("bench@example.com", [Roles.Auditor], [], [], "bench/query", null, "test", default);
var ids = new List<Guid>();
await using (var sample = ds.CreateCommand("SELECT event_id FROM audit_read.authorizations TABLESAMPLE SYSTEM (1) LIMIT 20000"))
await using (var reader = await sample.ExecuteReaderAsync())
{
    while (await reader.ReadAsync())
    {
        ids.Add(reader.GetGuid(0));
    }
}

var port = PostgresServer.FreePort();
await using var api = ChildProcess.StartDotnet(RepoPaths.Built("query-api/AuditPipeline.QueryApi", "AuditPipeline.QueryApi.dll"), new Dictionary<string, string>
{
    ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
    ["Store__ConnectionString"] = store.ConnectionString(ServiceRole.Api) + ";Maximum Pool Size=50",
    ["ClickHouse__Url"] = clickHouseUrl,
    ["Kafka__BootstrapServers"] = "127.0.0.1:9",
    ["QueryApi__RequestsPerSecond"] = "100000",
    ["QueryApi__Burst"] = "100000",
    ["Logging__LogLevel__Default"] = "Warning",
});
using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
for (var i = 0; ; i++)
{
    try
    {
        if ((await client.GetAsync("/health")).IsSuccessStatusCode)
        {
            break;
        }
    }
    catch (HttpRequestException) when (i < 100)
    {
    }
    await Task.Delay(200);
}


string WhyPath() => $"/v1/events/{ids[Random.Shared.Next(ids.Count)]}/why";
string SearchPath()
{
    var agent = fleet.Agents[Random.Shared.Next(Agents)].Id;
    var day = start.AddDays(Random.Shared.Next(6)).AddHours(Random.Shared.Next(24));
    return $"/v1/actions?agent={agent}&from={day:yyyy-MM-ddTHH:mm:ssZ}&to={day.AddDays(1):yyyy-MM-ddTHH:mm:ssZ}&limit=100";
}
await Load.RunAsync(client, WhyPath, clients, TimeSpan.FromSeconds(3)); // warm-up
var why = await Load.RunAsync(client, WhyPath, clients, TimeSpan.FromSeconds(seconds));
await Load.RunAsync(client, SearchPath, clients, TimeSpan.FromSeconds(3));
var search = await Load.RunAsync(client, SearchPath, clients, TimeSpan.FromSeconds(seconds));
Console.WriteLine(why.Describe("why-authorized"));
Console.WriteLine(search.Describe("one-agent one-day search"));
var rps = (why.Requests + search.Requests) / (why.Elapsed + search.Elapsed).TotalSeconds;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"query why_p99_ms={why.Percentile(99):0.0} search_p99_ms={search.Percentile(99):0.0} rps={rps:0}"));


int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}
