using AuditPipeline.ClickHouse;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity.Store;
using AuditPipeline.Emitter;
using AuditPipeline.Projections;
using AuditPipeline.Soak;
using AuditPipeline.Testing;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace AuditPipeline.IntegrationTests;

/// <summary>
/// The twin of the soak: its checks are real. On an untouched, fully projected store they find
/// nothing; after a lost, a doubled and an edited event, a stray ClickHouse row, a miscounted read
/// model, a second incident and an API that does not answer, they find each.
/// </summary>
public sealed partial class SoakTests
{
    [Fact]
    public async Task The_soak_checks_pass_a_consistent_store_and_name_each_kind_of_damage()
    {
        var options = new SoakOptions { Partitions = 2 };
        await using var servers = await SoakServers.StartAsync(options);
        using var http = new HttpClient();
        await using var probe = new StoreProbe(servers, http);
        await using var ds = servers.Store.SeedDataSource();
        var store = new PostgresEventStore(ds, TimeProvider.System);
        var fleet = new SampleFleet(3, seed: 7, idPrefix: SteadyProducer.AgentPrefix);
        var runaway = new SampleFleet(1, seed: 8, idPrefix: $"{IncidentInjector.AgentPrefix}-00").Agents[0].Id;
        var ledger = new AckLedger();
        var events = fleet.Agents.SelectMany(a => TestEvents.ForAgent(fleet, a, 300)).ToList();
        await store.AppendAsync(events, [], default);
        foreach (var e in events)
        {
            ledger.Track(ContractJson.Deserialize(e.Payload))(Acknowledged());
        }
        var alerts = new AlertLog(ds, store);
        await alerts.AppendAsync([TestScenarios.VolumeAlert(Guid.CreateVersion7(), runaway, DateTimeOffset.UtcNow)], default);
        await ProjectAndSignAsync(servers, ds, http);
        var api = new ApiProbe(new Uri($"http://127.0.0.1:{PostgresServer.FreePort()}/"), http); // nothing listens there
        var checks = new SoakChecks(servers, probe, api, ledger, apiTimeout: TimeSpan.FromSeconds(1));

        var clean = await checks.RunAsync([runaway], [], null, default);
        Assert.Empty(clean.Lost);
        Assert.Empty(clean.Duplicated);
        Assert.True(clean.ChainVerify.ExitCode == 0, clean.ChainVerify.Output);
        Assert.True(clean.CheckpointVerify.ExitCode == 0, clean.CheckpointVerify.Output);
        Assert.True(clean.LatestCheckpointSize >= clean.LastActionPosition);
        Assert.Empty(clean.ClickHouseMismatches);
        Assert.Empty(clean.ReadModelMismatches);
        Assert.Empty(clean.IncidentProblems);
        Assert.Equal(1, clean.IncidentsRaised);
        Assert.Single(clean.Problems()); // the API, which is not running

        // Damage of every kind the soak looks for.
        var lost = fleet.Next(fleet.Agents[0], DateTimeOffset.UtcNow);
        ledger.Track(lost)(Acknowledged());
        var (doubled, edited) = (events[10].EventId, events[20].EventId);
        // Before the doubled row: past it, the store refuses appends (a row beyond the log head).
        await alerts.AppendAsync([TestScenarios.VolumeAlert(Guid.CreateVersion7(), runaway, DateTimeOffset.UtcNow),
            TestScenarios.VolumeAlert(Guid.CreateVersion7(), fleet.Agents[0].Id, DateTimeOffset.UtcNow)], default);
        await servers.Store.ExecAsAdminAsync($"""
            SET session_replication_role = replica;
            INSERT INTO audit.events SELECT global_seq + 100000, stream_id, version, event_id, event_type, occurred_at, recorded_at, payload, prev_hash, hash
              FROM audit.events WHERE event_id = '{doubled}';
            -- An edit with its hash recomputed: the chain breaks after it, the signed tree no longer matches.
            UPDATE audit.events SET payload = replace(payload::text, 'records', 'recordz')::json, hash = sha256(hash) WHERE event_id = '{edited}';
            UPDATE audit_read.agents SET actions = actions + 1 WHERE agent_id = '{fleet.Agents[1].Id}';
            """);
        await new ClickHouseClient(http, new Uri(servers.ClickHouseUrl)).ExecuteAsync(
            $"INSERT INTO agent_actions (global_seq, agent_id, event_id) VALUES (999999, '{fleet.Agents[2].Id}', '{Guid.NewGuid()}')", default);

        var damaged = await checks.RunAsync([runaway], [], null, default);
        Assert.Equal([lost.EventId], damaged.Lost);
        Assert.Equal([doubled], damaged.Duplicated);
        Assert.True(damaged.ChainVerify.ExitCode == 1, damaged.ChainVerify.Output);
        Assert.True(damaged.CheckpointVerify.ExitCode == 1, damaged.CheckpointVerify.Output);
        Assert.Contains("MISMATCH", damaged.CheckpointVerify.Output, StringComparison.Ordinal);
        Assert.Contains(damaged.ClickHouseMismatches, m => m.StartsWith(fleet.Agents[2].Id, StringComparison.Ordinal));
        Assert.Contains(damaged.ClickHouseMismatches, m => m.StartsWith(fleet.Agents[0].Id, StringComparison.Ordinal)); // the doubled event's agent: one more in the store
        Assert.Contains(damaged.ClickHouseMismatches, m => m.StartsWith("agent_minute_counts", StringComparison.Ordinal));
        Assert.Contains(damaged.ClickHouseMismatches, m => m.StartsWith("agent_resources", StringComparison.Ordinal));
        Assert.Contains(damaged.ReadModelMismatches, m => m.StartsWith(fleet.Agents[1].Id, StringComparison.Ordinal));
        Assert.Contains(damaged.IncidentProblems, p => p.StartsWith($"{runaway} was injected once and has 2 incidents", StringComparison.Ordinal));
        Assert.Contains(damaged.IncidentProblems, p => p.Contains(fleet.Agents[0].Id, StringComparison.Ordinal));
        Assert.Equal(3, damaged.IncidentsRaised);
        Assert.NotEmpty(damaged.ApiProblems);
    }

    private static DeliveryReport<string, byte[]> Acknowledged() => new() { Error = new Error(ErrorCode.NoError), Status = PersistenceStatus.Persisted };

    /// <summary>What the projector does, in-process and to the head: ClickHouse, the read models, the Merkle tree, and a signed checkpoint.</summary>
    private static async Task ProjectAndSignAsync(SoakServers servers, Npgsql.NpgsqlDataSource ds, HttpClient http)
    {
        var clickHouse = new ClickHouseClient(http, new Uri(servers.ClickHouseUrl));
        foreach (var (name, handler) in new (string, EventBatchHandler)[]
                 {
                     (ClickHouseActionsProjection.SubscriptionName, new ClickHouseActionsProjection(clickHouse).HandleAsync),
                     (ReadModelProjection.SubscriptionName, new ReadModelProjection(ds).HandleAsync),
                     (MerkleTreeProjection.SubscriptionName, new MerkleTreeProjection(ds, NullLogger.Instance).HandleAsync),
                 })
        {
            await new StoreSubscription(ds, name, handler, new SubscriptionOptions { StopWhenCaughtUp = true }).RunAsync(default);
        }
        using var signer = new IntegrityOptions { SigningKeyFile = servers.SigningKeyFile }.LoadSigner();
        await new CheckpointService(ds, signer, []).CreateAsync(null, "test", default);
    }
}
