using AuditPipeline.Queries;
using System.Globalization;
using AuditPipeline.ClickHouse;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Emitter;
using AuditPipeline.IntegrationTests.Infrastructure;
using AuditPipeline.Projections;
using AuditPipeline.Testing;
using Xunit;

namespace AuditPipeline.IntegrationTests;

/// <summary>Event store → ClickHouse on real servers: equality with the store, idempotent replay, rebuild.</summary>
[Collection(PipelineCollection.Name)]
public sealed class ProjectionTests(PipelineFixture fx) : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromMinutes(5) };

    [Fact]
    public async Task Projected_totals_minute_counts_and_resource_counts_equal_the_store()
    {
        var (store, clickHouse) = await NewStoresAsync();
        await AppendAsync(store, events: 200_000, agents: 200);

        await ProjectToHeadAsync(store, clickHouse);

        await AssertClickHouseEqualsStoreAsync(store, clickHouse, expectedEvents: 200_000);
    }

    [Fact]
    public async Task Replaying_after_a_crash_between_insert_and_checkpoint_doubles_nothing()
    {
        var (store, clickHouse) = await NewStoresAsync();
        await AppendAsync(store, events: 6_000, agents: 20);
        await ProjectToHeadAsync(store, clickHouse);

        // A projector that inserted but died before saving its checkpoint: the new one starts
        // from an older checkpoint (here: from zero) and replays every batch.
        await store.ExecAsAdminAsync($"UPDATE audit.subscription_checkpoints SET position = 0 WHERE name = '{ClickHouseActionsProjection.SubscriptionName}'");
        await ProjectToHeadAsync(store, clickHouse);
        // And a batch handed twice to the same projector.
        await using (var ds = store.DataSource(ServiceRole.Projector))
        {
            var projection = new ClickHouseActionsProjection(clickHouse);
            var replay = new List<StoredEvent>();
            await new StoreSubscription(ds, "replay-probe", (batch, _) => { replay.AddRange(batch); return Task.CompletedTask; },
                new SubscriptionOptions { StopWhenCaughtUp = true }).RunAsync(default);
            await projection.HandleAsync(replay, default);
            await projection.HandleAsync(replay, default);
        }

        await AssertClickHouseEqualsStoreAsync(store, clickHouse, expectedEvents: 6_000);
    }

    [Fact]
    public async Task Auditctl_rebuild_replaces_the_tables_with_an_exact_projection_of_the_store()
    {
        var (store, clickHouse) = await NewStoresAsync();
        await AppendAsync(store, events: 3_000, agents: 10);
        await ProjectToHeadAsync(store, clickHouse);
        await clickHouse.ExecuteAsync("INSERT INTO agent_actions (global_seq, agent_id) VALUES (999999, 'garbage')", default);

        var (exit, output) = await fx.AuditctlAsync(store, new Dictionary<string, string> { ["ClickHouse__Url"] = _clickHouseUrl! },
            "projections", "rebuild", "clickhouse");
        Assert.True(exit == 0, output);
        Assert.Contains("projected up to log position 3000", output, StringComparison.Ordinal);
        await AssertClickHouseEqualsStoreAsync(store, clickHouse, expectedEvents: 3_000);
    }

    [Fact]
    public async Task Projector_killed_mid_run_and_restarted_ends_equal_to_the_store()
    {
        var (store, clickHouse) = await NewStoresAsync();
        await AppendAsync(store, events: 100_000, agents: 100);

        for (var kill = 0; kill < 2; kill++)
        {
            await using var projector = StartProjector(store, batchSize: 2_000);
            var before = await CountAsync(clickHouse);
            await PipelineFixture.WaitUntilAsync(async () => await CountAsync(clickHouse) > before + 10_000,
                TimeSpan.FromMinutes(2), () => Task.FromResult(projector.Output));
            projector.Kill();
        }
        await using (var final = StartProjector(store, batchSize: 2_000))
        {
            await WaitForProjectionAsync(clickHouse, 100_000, final);
        }
        await AssertClickHouseEqualsStoreAsync(store, clickHouse, expectedEvents: 100_000);
    }

    [Fact]
    public async Task ClickHouse_restarted_mid_run_is_waited_out_and_nothing_is_doubled()
    {
        await using var server = await ClickHouseServer.StartAsync(); // its own server: this test kills it
        var (store, clickHouse) = await NewStoresAsync(server.HttpUri);
        await AppendAsync(store, events: 60_000, agents: 50);

        await using var projector = StartProjector(store, batchSize: 2_000);
        await PipelineFixture.WaitUntilAsync(async () => await CountAsync(clickHouse) > 10_000,
            TimeSpan.FromMinutes(2), () => Task.FromResult(projector.Output));
        var atRestart = await CountAsync(clickHouse);
        await server.RestartAsync(downFor: TimeSpan.FromSeconds(5));

        Assert.InRange(atRestart, 10_001, 59_999); // the restart really happened mid-run
        await WaitForProjectionAsync(clickHouse, 60_000, projector);
        Assert.False(projector.HasExited, "the projector waits ClickHouse out\n" + projector.Output);
        await AssertClickHouseEqualsStoreAsync(store, clickHouse, expectedEvents: 60_000);
    }

    [Fact]
    public async Task Of_two_projector_processes_one_is_active_and_killing_it_hands_over()
    {
        var (store, clickHouse) = await NewStoresAsync();
        await AppendAsync(store, events: 40_000, agents: 40);

        await using var first = StartProjector(store, batchSize: 1_000);
        await PipelineFixture.WaitUntilAsync(() => Task.FromResult(first.Output.Contains("is active", StringComparison.Ordinal)),
            TimeSpan.FromMinutes(1), () => Task.FromResult(first.Output));
        await using var second = StartProjector(store, batchSize: 1_000);
        await Task.Delay(3_000);
        Assert.DoesNotContain("is active", second.Output, StringComparison.Ordinal);

        first.Kill(); // its connection drops, and with it the leader lock
        await PipelineFixture.WaitUntilAsync(() => Task.FromResult(second.Output.Contains("is active", StringComparison.Ordinal)),
            TimeSpan.FromMinutes(1), () => Task.FromResult(second.Output));
        await AppendAsync(store, events: 5_000, agents: 40);
        await WaitForProjectionAsync(clickHouse, 45_000, second);
        await AssertClickHouseEqualsStoreAsync(store, clickHouse, expectedEvents: 45_000);
    }

    [Fact]
    public async Task Why_authorized_returns_every_link_of_a_delegated_approved_action_and_auditctl_prints_it()
    {
        var (store, _) = await NewStoresAsync();
        var fleet = new SampleFleet(2, seed: 3);
        var agent = fleet.Agents[0];
        var now = DateTimeOffset.UtcNow;
        var sample = fleet.Next(agent, now);
        var delegated = sample with
        {
            Delegation = new Delegation
            {
                OnBehalfOf = "alice@example.com",
                Chain = [new Actor { Type = ActorType.Human, Id = "alice@example.com" }, new Actor { Type = ActorType.Service, Id = "orchestrator-1", Name = "workflow orchestrator" }],
                ParentAgentId = "planner-agent-7",
            },
            Action = new ActionPerformed { Operation = "transfer", Tool = "erp.api", Resource = new TargetResource { Type = "ledger", Id = "ledger/eu/42", Sensitivity = Sensitivity.Financial } },
            Authorization = new AuthorizationDecision
            {
                Decision = Decision.Allow, PolicyId = "payments-policy", PolicyVersion = "v12", Rule = "allow-transfer-with-approval",
                Reason = "amount under limit, approved by a second person", DecisionId = "dec-123",
                Approvals = [new Approval { Approver = "bob@example.com", ApprovedAt = Timestamps.ToUtcMicroseconds(now.AddMinutes(-2)), ApprovalId = "apr-9" }],
                GrantExpiresAt = Timestamps.ToUtcMicroseconds(now.AddHours(1)),
            },
        };
        await using (var ds = store.SeedDataSource())
        {
            await new PostgresEventStore(ds, TimeProvider.System).AppendAsync(
                [TestEvents.Incoming(fleet.Next(agent, now.AddSeconds(-1))), TestEvents.Incoming(delegated)], [], default);
            await new StoreSubscription(ds, ReadModelProjection.SubscriptionName, new ReadModelProjection(ds).HandleAsync,
                new SubscriptionOptions { StopWhenCaughtUp = true }).RunAsync(default);

            var answer = await new WhyAuthorizedQuery(ds).FindAsync(delegated.EventId, default);
            Assert.NotNull(answer);
            Assert.Equal(
                ["human:alice@example.com", "service:orchestrator-1", "agent:planner-agent-7", $"agent:{agent.Id}",
                 "action:transfer ledger:ledger/eu/42", "decision:allow", "policy:payments-policy@v12", "approval:bob@example.com",
                 $"grant:expires {delegated.Authorization.GrantExpiresAt:O}"],
                answer.Path.Select(l => $"{l.Kind}:{l.Id}"));
            Assert.Equal("allow-transfer-with-approval", answer.Event.Authorization.Rule);
            Assert.Equal(2, answer.Version);
            Assert.Equal(2, answer.GlobalSeq);
            Assert.True(answer.IntegrityVerified);
        }

        var (exit, output) = await fx.AuditctlAsync(store, "why", delegated.EventId.ToString());
        Assert.True(exit == 0, output);
        foreach (var expected in new[] { "alice@example.com", "orchestrator-1", "planner-agent-7", "ledger/eu/42", "payments-policy@v12", "bob@example.com", "verified" })
        {
            Assert.Contains(expected, output, StringComparison.Ordinal);
        }

        // An edit in the store behind the read model's back shows up as unverified.
        await store.ExecAsAdminAsync($"SET session_replication_role = replica; UPDATE audit.events SET payload = replace(payload::text, 'transfer', 'transfe2')::json WHERE event_id = '{delegated.EventId}'");
        var (exitAfter, outputAfter) = await fx.AuditctlAsync(store, "why", delegated.EventId.ToString());
        Assert.True(exitAfter == 3, outputAfter);
        Assert.Contains("NOT VERIFIED", outputAfter, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Agent_inventory_totals_equal_the_store_flag_unowned_agents_and_survive_replay()
    {
        var (store, _) = await NewStoresAsync();
        await AppendAsync(store, events: 8_000, agents: 16);
        var fleet = new SampleFleet(1, seed: 5, idPrefix: "rogue");
        var unowned = fleet.Next(fleet.Agents[0], DateTimeOffset.UtcNow);
        unowned = unowned with { Agent = unowned.Agent with { Owner = null } };
        await using var ds = store.SeedDataSource();
        await new PostgresEventStore(ds, TimeProvider.System).AppendAsync([TestEvents.Incoming(unowned)], [], default);

        async Task ProjectAsync() => await new StoreSubscription(ds, ReadModelProjection.SubscriptionName, new ReadModelProjection(ds).HandleAsync,
            new SubscriptionOptions { StopWhenCaughtUp = true, BatchSize = 1_500 }).RunAsync(default);
        await ProjectAsync();
        await store.ExecAsAdminAsync($"UPDATE audit.subscription_checkpoints SET position = 2000 WHERE name = '{ReadModelProjection.SubscriptionName}'");
        await ProjectAsync(); // replays 2001..8001: nothing may be counted twice

        Assert.Equal(17, await store.CountAsync("SELECT count(*) FROM audit_read.agents"));
        Assert.Equal(8_001, await store.CountAsync("SELECT sum(actions) FROM audit_read.agents"));
        Assert.Equal(8_001, await store.CountAsync("SELECT count(*) FROM audit_read.authorizations"));
        Assert.Equal(0, await store.CountAsync("""
            SELECT count(*) FROM audit_read.agents a
            JOIN (SELECT stream_id, count(*) n, count(*) FILTER (WHERE payload->'authorization'->>'decision' = 'deny') d FROM audit.events GROUP BY stream_id) s
              ON s.stream_id = a.agent_id
            WHERE a.actions <> s.n OR a.denied <> s.d
            """));
        Assert.Equal(1, await store.CountAsync("SELECT count(*) FROM audit_read.agents WHERE unowned AND agent_id = 'rogue-0000'"));
        Assert.Equal(1, await store.CountAsync("SELECT count(*) FROM audit_read.agents WHERE unowned"));

        // A rebuild empties the read models and replays the store to the same totals.
        await store.ExecAsAdminAsync("UPDATE audit_read.agents SET actions = actions + 1000");
        var (exit, output) = await fx.AuditctlAsync(store, "projections", "rebuild", "read-models");
        Assert.True(exit == 0, output);
        Assert.Equal(8_001, await store.CountAsync("SELECT sum(actions) FROM audit_read.agents"));
        Assert.Equal(8_001, await store.CountAsync("SELECT count(*) FROM audit_read.authorizations"));
    }

    private ChildProcess StartProjector(TestStore store, int batchSize) =>
        ChildProcess.StartDotnet(RepoPaths.ProjectionsDll, new Dictionary<string, string>
        {
            ["Store__ConnectionString"] = store.ConnectionString(ServiceRole.Projector),
            ["ClickHouse__Url"] = _clickHouseUrl!,
            ["Projections__BatchSize"] = batchSize.ToString(CultureInfo.InvariantCulture),
            ["Projections__MaxRetryDelayMs"] = "1000",
        });

    private static async Task<long> CountAsync(ClickHouseClient clickHouse)
    {
        try
        {
            return long.Parse((await clickHouse.QueryAsync("SELECT count() FROM agent_actions FORMAT TSV", default)).Trim(), CultureInfo.InvariantCulture);
        }
        catch (HttpRequestException)
        {
            return -1; // restarting
        }
    }

    private static Task WaitForProjectionAsync(ClickHouseClient clickHouse, long expected, ChildProcess projector) =>
        PipelineFixture.WaitUntilAsync(async () => await CountAsync(clickHouse) >= expected, TimeSpan.FromMinutes(3),
            async () => $"{await CountAsync(clickHouse)} of {expected} projected\n{projector.Output}");

    private string? _clickHouseUrl;

    private async Task<(TestStore Store, ClickHouseClient ClickHouse)> NewStoresAsync(Uri? clickHouseServer = null)
    {
        var store = await fx.Postgres.CreateStoreAsync();
        var server = clickHouseServer ?? fx.ClickHouse.HttpUri;
        var database = store.Database; // one ClickHouse database per test, named like its PostgreSQL one
        await new ClickHouseClient(_http, server).ExecuteAsync($"CREATE DATABASE IF NOT EXISTS {ClickHouseSql.Identifier(database)}", default);
        _clickHouseUrl = $"{server}?database={database}";
        var clickHouse = new ClickHouseClient(_http, new Uri(_clickHouseUrl));
        await new ClickHouseSchema(clickHouse).ApplyAsync(default);
        return (store, clickHouse);
    }

    private static async Task AppendAsync(TestStore store, int events, int agents)
    {
        var fleet = new SampleFleet(agents, seed: events);
        await using var ds = store.DataSource(ServiceRole.Ingest);
        var eventStore = new PostgresEventStore(ds, TimeProvider.System);
        var start = DateTimeOffset.UtcNow.AddHours(-3);
        for (var done = 0; done < events; done += 5_000)
        {
            // Spread over three hours so there are many minutes to compare.
            var batch = Enumerable.Range(done, Math.Min(5_000, events - done))
                .Select(i => TestEvents.Incoming(fleet.Next(fleet.Agents[i % agents], start.AddMilliseconds(i * 10_800_000.0 / events)), i))
                .ToList();
            await eventStore.AppendAsync(batch, [], default);
        }
    }

    private static async Task ProjectToHeadAsync(TestStore store, ClickHouseClient clickHouse)
    {
        await using var ds = store.DataSource(ServiceRole.Projector);
        var projection = new ClickHouseActionsProjection(clickHouse);
        await new StoreSubscription(ds, ClickHouseActionsProjection.SubscriptionName, projection.HandleAsync,
            new SubscriptionOptions { BatchSize = 20_000, StopWhenCaughtUp = true }).RunAsync(default);
    }

    private static async Task AssertClickHouseEqualsStoreAsync(TestStore store, ClickHouseClient clickHouse, long expectedEvents)
    {
        Assert.Equal(expectedEvents, await store.CountAsync("SELECT count(*) FROM audit.events"));
        Assert.Equal(expectedEvents.ToString(CultureInfo.InvariantCulture), (await clickHouse.QueryAsync("SELECT count() FROM agent_actions FORMAT TSV", default)).Trim());

        var storeMinutes = await RowsAsync(store, """
            SELECT stream_id || '|' || extract(epoch FROM date_trunc('minute', occurred_at))::bigint || '|' || (payload->'authorization'->>'decision'), count(*)
            FROM audit.events GROUP BY 1
            """);
        var clickHouseMinutes = Rows(await clickHouse.QueryAsync(
            "SELECT concat(agent_id, '|', toString(toUInt32(minute)), '|', decision), sum(actions) FROM agent_minute_counts GROUP BY agent_id, minute, decision FORMAT TSV", default));
        Assert.Equal(storeMinutes.Count, clickHouseMinutes.Count);
        Assert.Equal(storeMinutes, clickHouseMinutes);

        var storeResources = await RowsAsync(store, """
            SELECT stream_id || '|' || (payload->'action'->'resource'->>'id'), count(*) FROM audit.events GROUP BY 1
            """);
        var clickHouseResources = Rows(await clickHouse.QueryAsync(
            "SELECT concat(agent_id, '|', resource_id), countMerge(actions) FROM agent_resources GROUP BY agent_id, resource_id FORMAT TSV", default));
        Assert.Equal(storeResources, clickHouseResources);
    }

    private static async Task<Dictionary<string, long>> RowsAsync(TestStore store, string sql)
    {
        await using var ds = store.AdminDataSource();
        await using var cmd = ds.CreateCommand(sql);
        await using var reader = await cmd.ExecuteReaderAsync();
        var rows = new Dictionary<string, long>();
        while (await reader.ReadAsync())
        {
            rows[reader.GetString(0)] = reader.GetInt64(1);
        }
        return rows;
    }

    private static Dictionary<string, long> Rows(string tsv) =>
        tsv.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('\t'))
            .ToDictionary(p => p[0], p => long.Parse(p[1], CultureInfo.InvariantCulture));

    public void Dispose() => _http.Dispose();
}
