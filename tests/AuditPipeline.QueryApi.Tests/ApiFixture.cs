using System.Net.Http.Headers;
using AuditPipeline.ClickHouse;
using AuditPipeline.Access;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity;
using AuditPipeline.Emitter;
using AuditPipeline.Projections;
using AuditPipeline.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Xunit;

namespace AuditPipeline.QueryApi.Tests;

/// <summary>
/// Real PostgreSQL and ClickHouse with a small fleet projected into both, alert incidents, and a
/// key per role and state; the API runs in-process (WebApplicationFactory) against them.
/// Agents agent-0000 and agent-0005 are team payments; agent-0001 is support. (The factory is
/// typed by a class of the API's assembly; it finds the entry point from there.)
/// </summary>
public sealed class ApiFixture : IAsyncLifetime, IDisposable
{
    private readonly HttpClient _http = new();
    private PostgresServer _postgres = null!;
    private ClickHouseServer _clickHouse = null!;

    public TestStore Store { get; private set; } = null!;
    public string ClickHouseUrl { get; private set; } = "";
    public WebApplicationFactory<QueryApiOptions> Factory { get; private set; } = null!;
    public Dictionary<string, string> Tokens { get; } = [];
    public Dictionary<string, string> KeyIds { get; } = [];
    public Guid DeniedEventId { get; } = Guid.CreateVersion7();
    public Guid ApprovedEventId { get; } = Guid.CreateVersion7();
    public Guid SupportEventId { get; private set; }
    public Guid PaymentsIncident { get; private set; }
    public Guid SupportIncident { get; private set; }
    public Guid MatrixIncident { get; private set; }

    public async Task InitializeAsync()
    {
        _postgres = await PostgresServer.StartAsync();
        _clickHouse = await ClickHouseServer.StartAsync();
        Store = await _postgres.CreateStoreAsync();
        await new ClickHouseClient(_http, _clickHouse.HttpUri).ExecuteAsync($"CREATE DATABASE IF NOT EXISTS {ClickHouseSql.Identifier(Store.Database)}", default);
        ClickHouseUrl = $"{_clickHouse.HttpUri}?database={Store.Database}";
        var clickHouse = new ClickHouseClient(_http, new Uri(ClickHouseUrl));
        await new ClickHouseSchema(clickHouse).ApplyAsync(default);

        await using var ds = Store.SeedDataSource();
        var store = new PostgresEventStore(ds, TimeProvider.System);
        var fleet = new SampleFleet(6, seed: 11);
        var now = DateTimeOffset.UtcNow;
        var events = new List<IncomingEvent>();
        foreach (var agent in fleet.Agents)
        {
            events.AddRange(TestEvents.ForAgent(fleet, agent, 100, now.AddMinutes(-90)));
        }
        SupportEventId = events.First(e => e.StreamId == "agent-0001").EventId;
        var (denied, approved) = TestScenarios.DeniedThenApproved(fleet.Agents[0], now.AddMinutes(-1), deniedId: DeniedEventId, approvedId: ApprovedEventId);
        events.Add(TestEvents.Incoming(denied));
        events.Add(TestEvents.Incoming(approved));
        await store.AppendAsync(events, [], default);

        var alerts = new AlertLog(ds, store);
        PaymentsIncident = Guid.CreateVersion7();
        SupportIncident = Guid.CreateVersion7();
        MatrixIncident = Guid.CreateVersion7();
        await alerts.AppendAsync([TestScenarios.VolumeAlert(PaymentsIncident, "agent-0000", now), TestScenarios.VolumeAlert(SupportIncident, "agent-0001", now), TestScenarios.VolumeAlert(MatrixIncident, "agent-0005", now)], default);

        await new StoreSubscription(ds, ClickHouseActionsProjection.SubscriptionName, new ClickHouseActionsProjection(clickHouse).HandleAsync,
            new SubscriptionOptions { StopWhenCaughtUp = true }).RunAsync(default);
        await new StoreSubscription(ds, ReadModelProjection.SubscriptionName, new ReadModelProjection(ds).HandleAsync,
            new SubscriptionOptions { StopWhenCaughtUp = true }).RunAsync(default);

        var keys = new ApiKeyStore(ds, TimeProvider.System);
        async Task AddAsync(string name, string[] roles, string[]? teams = null, DateTimeOffset? expires = null)
        {
            var (key, token) = await keys.CreateAsync($"{name}@example.com", roles, teams ?? [], [], name, expires, "test", default);
            Tokens[name] = token;
            KeyIds[name] = key.KeyId;
        }
        await AddAsync("auditor", [Roles.Auditor]);
        await AddAsync("oncall", [Roles.OnCall]);
        await AddAsync("admin", [Roles.Admin]);
        await AddAsync("payments-auditor", [Roles.Auditor, Roles.OnCall], teams: ["payments"]);
        await AddAsync("revoked", [Roles.Auditor, Roles.OnCall, Roles.Admin]);
        await keys.RevokeAsync(KeyIds["revoked"], "test", default);
        await AddAsync("expired", [Roles.Auditor, Roles.OnCall, Roles.Admin], expires: now.AddMinutes(-1));

        Factory = CreateFactory();
    }

    /// <summary>A fresh, empty store on the fixture's PostgreSQL, for tests that must not add to the shared one.</summary>
    public Task<TestStore> NewStoreAsync() => _postgres.CreateStoreAsync();

    /// <summary>An API over another store, with extra settings.</summary>
    public WebApplicationFactory<QueryApiOptions> CreateFactory(TestStore store, IReadOnlyDictionary<string, string> settings) =>
        CreateFactory().WithWebHostBuilder(b =>
        {
            b.UseSetting("Store:ConnectionString", store.ConnectionString(ServiceRole.Api));
            foreach (var (key, value) in settings)
            {
                b.UseSetting(key, value);
            }
        });

    /// <summary>The checkpoint key the default factory signs with.</summary>
    public CheckpointSigner Signer { get; } = CheckpointSigner.Generate();

    public string ExportDirectory { get; } = Directory.CreateTempSubdirectory("ap-api-exports-").FullName;

    public WebApplicationFactory<QueryApiOptions> CreateFactory(int requestsPerSecond = 10_000, int burst = 10_000, bool signing = true) =>
        new WebApplicationFactory<QueryApiOptions>().WithWebHostBuilder(b =>
        {
            if (signing)
            {
                b.UseSetting("Integrity:SigningKeyPem", Signer.ExportPrivateKeyPem());
            }
            b.UseSetting("Integrity:CheckpointTopic", "");
            b.UseSetting("QueryApi:ExportDirectory", ExportDirectory);
            b.UseSetting("Store:ConnectionString", Store.ConnectionString(ServiceRole.Api));
            b.UseSetting("ClickHouse:Url", ClickHouseUrl);
            b.UseSetting("Kafka:BootstrapServers", "127.0.0.1:9"); // nothing listens: readiness must say so
            b.UseSetting("QueryApi:RequestsPerSecond", requestsPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture));
            b.UseSetting("QueryApi:Burst", burst.ToString(System.Globalization.CultureInfo.InvariantCulture));
        });

    /// <summary>Runs the read-model and Merkle-tree projections over everything in the store (test set-up).</summary>
    public static async Task ProjectReadModelsAndTreeAsync(Npgsql.NpgsqlDataSource ds)
    {
        await new StoreSubscription(ds, ReadModelProjection.SubscriptionName, new ReadModelProjection(ds).HandleAsync,
            new SubscriptionOptions { StopWhenCaughtUp = true }).RunAsync(default);
        await new StoreSubscription(ds, MerkleTreeProjection.SubscriptionName, new MerkleTreeProjection(ds, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance).HandleAsync,
            new SubscriptionOptions { StopWhenCaughtUp = true }).RunAsync(default);
    }

    /// <summary>A client of an API factory that sends a bearer token.</summary>
    public static HttpClient Bearer(WebApplicationFactory<QueryApiOptions> factory, string token)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public HttpClient Client(string? principal, WebApplicationFactory<QueryApiOptions>? factory = null) =>
        ClientWithToken(principal is null ? null : Tokens[principal], factory);

    public HttpClient ClientWithToken(string? token, WebApplicationFactory<QueryApiOptions>? factory = null)
    {
        var client = (factory ?? Factory).CreateClient();
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return client;
    }

    public async Task DisposeAsync()
    {
        await Factory.DisposeAsync();
        await _clickHouse.DisposeAsync();
        await _postgres.DisposeAsync();
        Dispose();
    }

    public void Dispose()
    {
        _http.Dispose();
        Signer.Dispose();
        if (Directory.Exists(ExportDirectory))
        {
            Directory.Delete(ExportDirectory, recursive: true);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ApiCollection : ICollectionFixture<ApiFixture>
{
    public const string Name = "api";
}
