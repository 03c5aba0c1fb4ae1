using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using AuditPipeline.ClickHouse;
using AuditPipeline.Access;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity;
using AuditPipeline.Integrity.Store;
using AuditPipeline.Redaction;
using AuditPipeline.Emitter;
using AuditPipeline.Projections;
using AuditPipeline.Testing;
using Microsoft.Extensions.Logging.Abstractions;

// The web console's end-to-end run: real PostgreSQL and ClickHouse on free loopback ports, three
// hours of demo traffic (a fleet with a daily rhythm, one agent spiking onto a secret it never
// touched, one agent without an owner, a delegated transfer denied then approved), two alert
// incidents with evidence, all projections, a signed checkpoint, an auditor and an on-call key,
// and the real query API process. Then `node --test` drives Debian's Chromium through the console
// (tests/console/e2e) and this exits with its exit code. Screenshots go to tests/console/artifacts.
var artifacts = Path.Combine(RepoPaths.Root, "tests", "console", "artifacts");
await using var postgres = await PostgresServer.StartAsync();
await using var clickHouseServer = await ClickHouseServer.StartAsync();
var store = await postgres.CreateStoreAsync();
using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
await new ClickHouseClient(http, clickHouseServer.HttpUri).ExecuteAsync($"CREATE DATABASE {ClickHouseSql.Identifier(store.Database)}", default);
var clickHouseUrl = $"{clickHouseServer.HttpUri}?database={store.Database}";
var clickHouse = new ClickHouseClient(http, new Uri(clickHouseUrl));
await new ClickHouseSchema(clickHouse).ApplyAsync(default);
await using var ds = store.SeedDataSource();

var demo = DemoData.Create(DateTimeOffset.UtcNow);
var eventStore = new PostgresEventStore(ds, TimeProvider.System);
// Stored as ingest stores them with redaction on: prompt text encrypted under each person's key.
var masterKey = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
var redactor = new PayloadRedactor(ds, new SubjectKeyStore(ds, new RedactionKeys(masterKey), TimeProvider.System), RedactionOptions.DefaultEncrypt.Split(','), [],
    TimeSpan.FromMinutes(5), TimeProvider.System);
foreach (var chunk in demo.Events.Chunk(5000))
{
    var actions = chunk.Select(e => ContractJson.Deserialize(e.Payload)).ToList();
    await eventStore.AppendAsync(await redactor.RedactAsync(actions, chunk, default), [], default);
}
await new AlertLog(ds, eventStore).AppendAsync(demo.Alerts, default);
foreach (var (name, handler) in new (string, EventBatchHandler)[]
         {
             (ClickHouseActionsProjection.SubscriptionName, new ClickHouseActionsProjection(clickHouse).HandleAsync),
             (ReadModelProjection.SubscriptionName, new ReadModelProjection(ds).HandleAsync),
             (MerkleTreeProjection.SubscriptionName, new MerkleTreeProjection(ds, NullLogger.Instance).HandleAsync),
         })
{
    await new StoreSubscription(ds, name, handler, new SubscriptionOptions { StopWhenCaughtUp = true, BatchSize = 20_000 }).RunAsync(default);
}
using var signer = CheckpointSigner.Generate();
await new CheckpointService(ds, signer, []).CreateAsync(null, "console-e2e", default);
var keys = new ApiKeyStore(ds, TimeProvider.System);
var (_, auditor) = await keys.CreateAsync("auditor@example.com", [Roles.Auditor], [], [], "console e2e", DateTimeOffset.UtcNow.AddHours(2), "test", default);
var (_, oncall) = await keys.CreateAsync("oncall@example.com", [Roles.OnCall], [], [], "console e2e", DateTimeOffset.UtcNow.AddHours(2), "test", default);

var port = FreePort();
var baseUrl = $"http://127.0.0.1:{port}";
var exports = Directory.CreateTempSubdirectory("ap-console-exports-").FullName;
await using var api = ChildProcess.StartDotnet(RepoPaths.Built("query-api/AuditPipeline.QueryApi", "AuditPipeline.QueryApi.dll"), new Dictionary<string, string>
{
    ["ASPNETCORE_URLS"] = baseUrl,
    ["Store__ConnectionString"] = store.ConnectionString(ServiceRole.Api),
    ["ClickHouse__Url"] = clickHouseUrl,
    ["Kafka__BootstrapServers"] = "127.0.0.1:9",
    ["Integrity__SigningKeyPem"] = signer.ExportPrivateKeyPem(),
    ["Integrity__CheckpointTopic"] = "",
    ["QueryApi__ExportDirectory"] = exports,
    ["Redaction__MasterKey"] = Convert.ToBase64String(masterKey),
});
for (var tries = 0; ; tries++)
{
    try
    {
        if ((await http.GetAsync($"{baseUrl}/health")).IsSuccessStatusCode)
        {
            break;
        }
    }
    catch (HttpRequestException) when (tries < 120)
    {
    }
    if (tries >= 120 || api.HasExited)
    {
        Console.Error.WriteLine($"the query API did not start:\n{api.Output}");
        return 2;
    }
    await Task.Delay(250);
}

// Warm the API up (first requests compile code and open pools), so the browser steps time only the console.
using (var warm = new HttpRequestMessage(HttpMethod.Post, $"{baseUrl}/v1/session") { Content = JsonContent(new { apiKey = auditor }) })
{
    (await http.SendAsync(warm)).EnsureSuccessStatusCode();
}
foreach (var path in new[] { "/v1/agents?limit=500", "/v1/alerts?status=all&limit=200", "/v1/actions/counts?bucket=minute", "/v1/actions?limit=10", "/console/app.js" })
{
    using var request = new HttpRequestMessage(HttpMethod.Get, baseUrl + path);
    request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", auditor);
    (await http.SendAsync(request)).EnsureSuccessStatusCode();
}

var config = Path.Combine(exports, "e2e-config.json");
await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new
{
    baseUrl,
    chromium = Environment.GetEnvironmentVariable("CHROMIUM") ?? "/usr/bin/chromium",
    artifacts,
    auditorKey = auditor,
    oncallKey = oncall,
    demo.SpikeAgent,
    demo.UnownedAgent,
    demo.ApprovedAgent,
    approvedEventId = demo.ApprovedEventId,
    incidentId = demo.SpikeIncident,
    demo.IncidentTitle,
}, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
Console.WriteLine($"console e2e: {demo.Events.Count} events, {demo.Alerts.Count} alert changes, API at {baseUrl}/console/");

var node = new ProcessStartInfo("node") { WorkingDirectory = Path.Combine(RepoPaths.Root, "tests", "console"), UseShellExecute = false };
foreach (var a in new[] { "--test", "--test-reporter=tap", "--test-concurrency=1", "e2e/" })
{
    node.ArgumentList.Add(a);
}
node.Environment["CONSOLE_E2E_CONFIG"] = config;
using var run = Process.Start(node)!;
await run.WaitForExitAsync();
await api.StopAsync();
Directory.Delete(exports, recursive: true);
return run.ExitCode;

static StringContent JsonContent(object value) => new(JsonSerializer.Serialize(value, new JsonSerializerOptions(JsonSerializerDefaults.Web)), System.Text.Encoding.UTF8, "application/json");

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

/// <summary>The demo data the console tests look at.</summary>
internal sealed record DemoData(
    List<IncomingEvent> Events, List<AgentAlert> Alerts, string SpikeAgent, string UnownedAgent, string ApprovedAgent,
    Guid ApprovedEventId, Guid SpikeIncident, string IncidentTitle)
{
    public static DemoData Create(DateTimeOffset now)
    {
        var fleet = new SampleFleet(8, seed: 7);
        var random = new Random(7);
        var start = now.AddMinutes(-180);
        var spike = fleet.Agents[1];
        var unowned = fleet.Agents[0] with { Id = "agent-shadow-1", Name = "shadow-script", Owner = null, Team = null };
        var events = new List<IncomingEvent>();
        var spikeIds = new List<Guid>();
        var spikeStart = now.AddMinutes(-30);
        for (var minute = 0; minute < 180; minute++)
        {
            var at = start.AddMinutes(minute);
            foreach (var agent in fleet.Agents)
            {
                var n = random.Next(1, 4) + (agent == spike && at >= spikeStart && at < spikeStart.AddMinutes(12) ? 40 : 0);
                for (var i = 0; i < n; i++)
                {
                    var e = fleet.Next(agent, at.AddSeconds(random.Next(60)));
                    if (agent == spike && at >= spikeStart && i % 5 == 0)
                    {
                        // The runaway also reaches a secret it never touched before.
                        e = e with { Action = e.Action with { Resource = new TargetResource { Type = "vault", Id = "vault/prod/db-password", Sensitivity = Sensitivity.Secret } } };
                        spikeIds.Add(e.EventId);
                    }
                    events.Add(TestEvents.Incoming(e, events.Count));
                }
            }
            if (minute % 20 == 0)
            {
                events.Add(TestEvents.Incoming(fleet.Next(unowned, at), events.Count));
            }
        }
        var (denied, approved) = TestScenarios.DeniedThenApproved(fleet.Agents[0], now.AddMinutes(-5), policyVersion: "v7");
        events.Add(TestEvents.Incoming(denied, events.Count));
        events.Add(TestEvents.Incoming(approved, events.Count));

        var incident = Guid.CreateVersion7();
        var title = $"{spike.Id}: 43 actions in a minute, expected about 2";
        var observed = Enumerable.Range(0, 30).Select(i => i is >= 18 and < 30 ? 43.0 : 2.0 + i % 3).ToList();
        var alerts = new List<AgentAlert>
        {
            new()
            {
                EventId = Guid.CreateVersion7(), IncidentId = incident, Change = AlertChange.Opened, AgentId = spike.Id, Owner = spike.Owner,
                Severity = AlertSeverity.Critical, Categories = ["volume", "resources"], Title = title,
                Summary = "43 actions in a minute, expected about 2; first touch of a secret",
                StartedAt = Timestamps.ToUtcMicroseconds(spikeStart), At = Timestamps.ToUtcMicroseconds(spikeStart.AddMinutes(1)),
                Evidence =
                [
                    new AlertEvidence
                    {
                        Detector = "volume.spike", Explanation = "43 actions in a minute, expected about 2; deseasonalized z = 17.3 (gate 6), IID p = 0, SR score = 1.",
                        Parameters = new Dictionary<string, double> { ["z"] = 17.3, ["gate"] = 6 },
                        WindowStart = Timestamps.ToUtcMicroseconds(spikeStart.AddMinutes(-18)), Observed = observed, Baseline = Enumerable.Repeat(2.1, 30).ToList(),
                        Score = 0.97, EventIds = spikeIds.Take(8).ToList(),
                    },
                    new AlertEvidence
                    {
                        Detector = "resources.first_seen", Explanation = "first touch of a secret: vault:vault/prod/db-password",
                        WindowStart = Timestamps.ToUtcMicroseconds(spikeStart), Score = 1, EventIds = spikeIds.Take(1).ToList(), Resources = ["vault:vault/prod/db-password"],
                    },
                ],
            },
            new()
            {
                EventId = Guid.CreateVersion7(), IncidentId = Guid.CreateVersion7(), Change = AlertChange.Opened, AgentId = unowned.Id,
                Severity = AlertSeverity.Medium, Categories = ["ownership"], Title = $"{unowned.Id} acts without an owner",
                Summary = "no owner is recorded for this agent",
                StartedAt = Timestamps.ToUtcMicroseconds(start), At = Timestamps.ToUtcMicroseconds(start.AddMinutes(2)),
            },
        };
        return new DemoData(events, alerts, spike.Id, unowned.Id, fleet.Agents[0].Id, approved.EventId, incident, title);
    }
}
