using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity.Store;
using AuditPipeline.Emitter;
using AuditPipeline.IntegrationTests.Infrastructure;
using AuditPipeline.Testing;
using Npgsql;
using Xunit;

namespace AuditPipeline.IntegrationTests;

/// <summary>The event store on a real PostgreSQL: append-only rules, uniqueness, tamper detection.</summary>
[Collection(PipelineCollection.Name)]
public sealed class EventStoreTests(PipelineFixture fx)
{
    private readonly SampleFleet _fleet = new(4, seed: 9);

    [Fact]
    public async Task App_role_cannot_update_delete_or_truncate_anything_in_the_store()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var app = store.DataSource(ServiceRole.Ingest);
        await new PostgresEventStore(app, TimeProvider.System).AppendAsync(Events(_fleet.Agents[0], 3), [], default);

        string[] forbidden =
        [
            "UPDATE audit.events SET payload = '{}' WHERE version = 1",
            "DELETE FROM audit.events WHERE version = 1",
            "TRUNCATE audit.events",
            "UPDATE audit.event_ids SET global_seq = 0",
            "DELETE FROM audit.event_ids",
            "TRUNCATE audit.event_ids",
            "DELETE FROM audit.quarantine",
            "DELETE FROM audit.stream_heads",
            "UPDATE audit.stream_heads SET version = 1",
            "UPDATE audit.log_head SET next_seq = 1",
            $"TRUNCATE audit.events_{DateTime.UtcNow:yyyy_MM}",
            "DROP TABLE audit.events",
        ];
        foreach (var sql in forbidden)
        {
            await using var cmd = app.CreateCommand(sql);
            var ex = await Assert.ThrowsAsync<PostgresException>(() => cmd.ExecuteNonQueryAsync());
            Assert.True(ex.SqlState is "42501" or "42P01", $"{sql}: expected a privilege error, got {ex.SqlState} {ex.MessageText}");
        }
        Assert.Equal(3, await store.CountAsync("SELECT count(*) FROM audit.events"));
    }

    [Fact]
    public async Task Triggers_reject_changes_even_from_a_privileged_role_that_does_not_bypass_them()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var app = store.DataSource(ServiceRole.Ingest);
        await new PostgresEventStore(app, TimeProvider.System).AppendAsync(Events(_fleet.Agents[0], 2), [], default);
        foreach (var sql in new[]
                 {
                     "UPDATE audit.events SET payload = '{}' WHERE version = 1",
                     "DELETE FROM audit.events",
                     "TRUNCATE audit.events",
                     $"TRUNCATE audit.events_{DateTime.UtcNow:yyyy_MM}",
                     "DELETE FROM audit.stream_heads",
                 })
        {
            var ex = await Assert.ThrowsAsync<PostgresException>(() => store.ExecAsAdminAsync(sql));
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, ex.SqlState);
            Assert.True(ex.MessageText.Contains("append-only", StringComparison.Ordinal)
                        || ex.MessageText.Contains("only move forward", StringComparison.Ordinal), ex.MessageText);
        }
    }

    [Fact]
    public async Task Event_id_and_stream_version_stay_unique_across_a_month_boundary()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var app = store.DataSource(ServiceRole.Ingest);
        var clock = new ManualClock(new DateTimeOffset(2031, 1, 31, 23, 59, 59, TimeSpan.Zero));
        var eventStore = new PostgresEventStore(app, clock);
        var agent = _fleet.Agents[1];
        var january = Events(agent, 3, clock.GetUtcNow().AddMinutes(-1));
        await eventStore.AppendAsync(january, [], default);

        clock.Now = new DateTimeOffset(2031, 2, 1, 0, 0, 1, TimeSpan.Zero);
        var february = Events(agent, 2, clock.GetUtcNow());
        var changedCopy = january[1] with { Payload = ContractJson.SerializeCanonical(
            ContractJson.Deserialize(january[1].Payload) with { Outcome = new Outcome { Status = OutcomeStatus.Error } }) };
        var result = await eventStore.AppendAsync([january[0], february[0], changedCopy, february[1]], [], default);

        Assert.Equal(2, result.Appended);
        Assert.Equal(1, result.Duplicates);
        Assert.Single(result.Conflicts);
        Assert.Equal(3, await store.CountAsync("SELECT count(*) FROM audit.events_2031_01"));
        Assert.Equal(2, await store.CountAsync("SELECT count(*) FROM audit.events_2031_02"));
        Assert.Equal(5, await store.CountAsync("SELECT count(*) FROM audit.events"));
        Assert.Equal(5, await store.CountAsync("SELECT count(DISTINCT (stream_id, version)) FROM audit.events"));
        Assert.Equal(5, await store.CountAsync($"SELECT max(version) FROM audit.events WHERE stream_id = '{agent.Id}'"));

        // The database itself refuses a second row for a stored event id, whatever the month.
        var ex = await Assert.ThrowsAsync<PostgresException>(() => store.ExecAsAdminAsync(
            $"INSERT INTO audit.event_ids (event_id, global_seq) VALUES ('{january[0].EventId}', 999)"));
        Assert.Equal(PostgresErrorCodes.UniqueViolation, ex.SqlState);
        // And a chain head only moves forward from the version it was read at.
        var cas = await Assert.ThrowsAsync<PostgresException>(() => store.ExecAsAdminAsync(
            $"UPDATE audit.stream_heads SET version = 3 WHERE stream_id = '{agent.Id}'"));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, cas.SqlState);

        await using var verifyDs = store.DataSource(ServiceRole.Api);
        Assert.True((await new ChainVerifier(verifyDs).VerifyAsync(new VerifyScope(), default)).Intact);
    }

    [Fact]
    public async Task Concurrent_appends_for_the_same_agents_keep_one_dense_chain_each()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var app = store.DataSource(ServiceRole.Ingest);
        var eventStore = new PostgresEventStore(app, TimeProvider.System);
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var b = 0; b < 10; b++)
            {
                var batch = _fleet.Agents.SelectMany(a => Events(a, 5)).ToList();
                await eventStore.AppendAsync(batch, [], default);
            }
        }));
        await Task.WhenAll(writers);

        Assert.Equal(4 * 10 * 4 * 5, await store.CountAsync("SELECT count(*) FROM audit.events"));
        Assert.Equal(800, await store.CountAsync("SELECT max(global_seq) FROM audit.events"));
        var report = await new ChainVerifier(app).VerifyAsync(new VerifyScope(), default);
        Assert.True(report.Intact, string.Join("\n", report.Breaks));
    }

    [Theory]
    [InlineData("update")]
    [InlineData("delete")]
    [InlineData("swap")]
    [InlineData("truncate-tail")]
    public async Task Superuser_tampering_is_detected_by_auditctl_verify_naming_the_first_broken_event(string tampering)
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var app = store.DataSource(ServiceRole.Ingest);
        var eventStore = new PostgresEventStore(app, TimeProvider.System);
        var victim = _fleet.Agents[2];
        var bystander = _fleet.Agents[3];
        var chain = Events(victim, 6);
        await eventStore.AppendAsync([.. chain, .. Events(bystander, 4)], [], default);

        var (exitBefore, outputBefore) = await fx.AuditctlAsync(store, "verify");
        Assert.True(exitBefore == 0, outputBefore);

        // A superuser can switch the append-only triggers off for its session, as an attacker with DBA rights would.
        var bypass = "SET session_replication_role = replica; ";
        var (sql, brokenVersion, namedEvent) = tampering switch
        {
            "update" => ($"UPDATE audit.events SET payload = replace(payload::text, '\"operation\":\"', '\"operation\":\"x')::json WHERE event_id = '{chain[2].EventId}'", 3, (Guid?)chain[2].EventId),
            "delete" => ($"DELETE FROM audit.events WHERE event_id = '{chain[3].EventId}'", 5, chain[4].EventId),
            "swap" => ($"UPDATE audit.events SET version = CASE version WHEN 2 THEN 3 ELSE 2 END WHERE stream_id = '{victim.Id}' AND version IN (2, 3)", 2, chain[2].EventId),
            _ => ($"DELETE FROM audit.events WHERE event_id = '{chain[5].EventId}'", 6, null),
        };
        await store.ExecAsAdminAsync(bypass + sql);

        var (exit, output) = await fx.AuditctlAsync(store, "verify");
        Assert.True(exit == 1, $"verify should exit 1 after '{tampering}', got {exit}: {output}");
        Assert.Contains($"agent {victim.Id}: version {brokenVersion}", output, StringComparison.Ordinal);
        if (namedEvent is { } id)
        {
            Assert.Contains(id.ToString(), output, StringComparison.Ordinal);
        }
        Assert.DoesNotContain($"agent {bystander.Id}", output, StringComparison.Ordinal);

        // A time range that covers the tampered event finds it too.
        var (exitRange, outputRange) = await fx.AuditctlAsync(store, "verify",
            "--from", DateTimeOffset.UtcNow.AddHours(-1).ToString("O"), "--to", DateTimeOffset.UtcNow.AddHours(1).ToString("O"));
        Assert.True(tampering == "truncate-tail" ? exitRange == 0 : exitRange == 1, outputRange);

        // Scoped to the other agent, the store still verifies.
        var (exitOther, outputOther) = await fx.AuditctlAsync(store, "verify", "--agent", bystander.Id);
        Assert.True(exitOther == 0, outputOther);
    }

    private List<IncomingEvent> Events(AgentIdentity agent, int count, DateTimeOffset? at = null) =>
        TestEvents.ForAgent(_fleet, agent, count, at);
}
