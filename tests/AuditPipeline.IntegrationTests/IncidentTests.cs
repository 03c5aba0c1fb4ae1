using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity.Store;
using AuditPipeline.IntegrationTests.Infrastructure;
using AuditPipeline.Projections;
using AuditPipeline.Testing;
using Xunit;

namespace AuditPipeline.IntegrationTests;

/// <summary>
/// Aggregate streams with an expected version (docs/event-store.md "Stream writes") and the
/// incidents read model (docs/detectors.md "Incidents"), against a real PostgreSQL with the
/// service roles the deployment uses.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class IncidentTests(PipelineFixture fx)
{
    [Fact]
    public async Task Two_operators_acknowledging_the_same_incident_one_wins_and_the_other_gets_a_conflict()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var detector = store.DataSource(ServiceRole.Detector);
        await using var api = store.DataSource(ServiceRole.Api);
        await using var ops = store.DataSource(ServiceRole.Ops);
        var detectorLog = new AlertLog(detector, new PostgresEventStore(detector, TimeProvider.System));
        // Two writers with their own connections, as the API and auditctl would be.
        var first = new AlertLog(api, new PostgresEventStore(api, TimeProvider.System));
        var second = new AlertLog(ops, new PostgresEventStore(ops, TimeProvider.System));

        const int rounds = 25;
        for (var round = 0; round < rounds; round++)
        {
            var incident = Guid.CreateVersion7();
            await detectorLog.AppendAsync([TestScenarios.VolumeAlert(incident, $"race-agent-{round}", DateTimeOffset.UtcNow)], default);
            var seenByFirst = (await first.LoadAsync(incident, default))!;
            var seenBySecond = (await second.LoadAsync(incident, default))!;
            Assert.Equal(1, seenByFirst.Version);

            var change = round % 2 == 0 ? AlertChange.Acknowledged : AlertChange.Resolved;
            var outcomes = await Task.WhenAll(
                Task.Run(() => first.ChangeAsync(seenByFirst, change, "alice@example.com", "mine", DateTimeOffset.UtcNow, default)),
                Task.Run(() => second.ChangeAsync(seenBySecond, AlertChange.Acknowledged, "bob@example.com", "no, mine", DateTimeOffset.UtcNow, default)));

            Assert.Single(outcomes, o => o is IncidentChangeOutcome.Changed);
            var conflict = Assert.IsType<IncidentChangeOutcome.Conflict>(Assert.Single(outcomes, o => o is not IncidentChangeOutcome.Changed));
            Assert.Equal(2, conflict.ActualVersion);
            var after = (await first.LoadAsync(incident, default))!;
            Assert.Equal(2, after.Version);
            Assert.Single(after.Changes, c => c.Change is AlertChange.Acknowledged or AlertChange.Resolved);
        }

        await using var admin = store.AdminDataSource();
        var report = await new ChainVerifier(admin).VerifyAsync(new VerifyScope(), default);
        Assert.True(report.Intact, string.Join("\n", report.Breaks));
        Assert.Equal(rounds * 2, await store.CountAsync("SELECT count(*) FROM audit.events WHERE event_type = 'agent-alert.v1'"));
    }

    [Fact]
    public async Task Append_with_a_stale_expected_version_is_rejected_and_writes_nothing()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var ops = store.DataSource(ServiceRole.Ops);
        var writer = new PostgresEventStore(ops, TimeProvider.System);
        var stream = AgentScopeChanged.StreamOf("stale-agent");
        var one = Event();

        var created = await writer.AppendToStreamAsync(stream, ExpectedVersion.NoStream, [one], default);
        Assert.Equal((1L, 1), (created.Version, created.Appended));
        var headBefore = await store.CountAsync("SELECT next_seq FROM audit.log_head");

        var stale = await Assert.ThrowsAsync<WrongExpectedVersionException>(() => writer.AppendToStreamAsync(stream, ExpectedVersion.NoStream, [Event()], default));
        Assert.Equal(1, stale.Actual);
        await Assert.ThrowsAsync<WrongExpectedVersionException>(() => writer.AppendToStreamAsync(stream, ExpectedVersion.Exactly(5), [Event()], default));
        Assert.Equal(1, await store.CountAsync($"SELECT count(*) FROM audit.events WHERE stream_id = '{stream}'"));
        Assert.Equal(headBefore, await store.CountAsync("SELECT next_seq FROM audit.log_head"));
        Assert.Equal(1, await store.CountAsync($"SELECT version FROM audit.stream_heads WHERE stream_id = '{stream}'"));

        // A retry of an append that committed is a duplicate, not a conflict; another body under the same id is refused.
        var retried = await writer.AppendToStreamAsync(stream, ExpectedVersion.NoStream, [one], default);
        Assert.Equal((1L, 0, 1), (retried.Version, retried.Appended, retried.Duplicates));
        await Assert.ThrowsAsync<EventIdConflictException>(() => writer.AppendToStreamAsync(stream, ExpectedVersion.Exactly(1), [one with { Payload = Payload("other") }], default));

        var next = await writer.AppendToStreamAsync(stream, ExpectedVersion.Exactly(1), [Event()], default);
        Assert.Equal(2, next.Version);
        var any = await writer.AppendToStreamAsync(stream, ExpectedVersion.Any, [Event()], default);
        Assert.Equal(3, any.Version);
        Assert.Equal(0, await store.CountAsync("SELECT count(*) FROM audit.quarantine"));

        await using var admin = store.AdminDataSource();
        var report = await new ChainVerifier(admin).VerifyAsync(new VerifyScope(stream), default);
        Assert.True(report.Intact, string.Join("\n", report.Breaks));
        Assert.Equal(3, report.EventsChecked);
    }

    [Fact]
    public async Task Several_streams_in_one_append_are_written_together_or_not_at_all()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var api = store.DataSource(ServiceRole.Api);
        var writer = new PostgresEventStore(api, TimeProvider.System);
        var (alice, bob) = (ApiCallRecorded.StreamOf("key-alice"), ApiCallRecorded.StreamOf("key-bob"));

        var both = await writer.AppendToStreamsAsync(
            [new StreamAppend(alice, ExpectedVersion.NoStream, [CallEvent(), CallEvent()]), new StreamAppend(bob, ExpectedVersion.Any, [CallEvent()])], default);
        Assert.Equal([(alice, 2L, 2), (bob, 1L, 1)], both.Select(r => (r.StreamId, r.Version, r.Appended)));
        Assert.All(both, r => Assert.Equal(3, r.Head.Value));

        // One stale stream stops the whole append: bob's events are not written either.
        var headBefore = await store.CountAsync("SELECT next_seq FROM audit.log_head");
        await Assert.ThrowsAsync<WrongExpectedVersionException>(() => writer.AppendToStreamsAsync(
            [new StreamAppend(bob, ExpectedVersion.Any, [CallEvent()]), new StreamAppend(alice, ExpectedVersion.Exactly(1), [CallEvent()])], default));
        Assert.Equal(headBefore, await store.CountAsync("SELECT next_seq FROM audit.log_head"));
        Assert.Equal(1, await store.CountAsync($"SELECT count(*) FROM audit.events WHERE stream_id = '{bob}'"));
        await Assert.ThrowsAsync<ArgumentException>(() => writer.AppendToStreamsAsync(
            [new StreamAppend(bob, ExpectedVersion.Any, [CallEvent()]), new StreamAppend(bob, ExpectedVersion.Any, [CallEvent()])], default));

        await using var admin = store.AdminDataSource();
        var report = await new ChainVerifier(admin).VerifyAsync(new VerifyScope(), default);
        Assert.True(report.Intact, string.Join("\n", report.Breaks));
        Assert.Equal(3, report.EventsChecked);
    }

    [Fact]
    public async Task The_incidents_read_model_equals_the_fold_of_the_store_and_again_after_a_rebuild()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        await using var detector = store.DataSource(ServiceRole.Detector);
        await using var api = store.DataSource(ServiceRole.Api);
        await using var projector = store.DataSource(ServiceRole.Projector);
        var detectorLog = new AlertLog(detector, new PostgresEventStore(detector, TimeProvider.System));
        var apiLog = new AlertLog(api, new PostgresEventStore(api, TimeProvider.System));
        var now = DateTimeOffset.UtcNow;
        var ids = Enumerable.Range(0, 6).Select(_ => Guid.CreateVersion7()).ToList();
        await detectorLog.AppendAsync([.. ids.Select((id, i) => TestScenarios.VolumeAlert(id, $"fold-agent-{i}", now.AddMinutes(-i)))], default);
        await detectorLog.AppendAsync([TestScenarios.VolumeAlert(ids[1], "fold-agent-1", now, AlertChange.Escalated) with { Severity = AlertSeverity.Critical, Categories = ["volume", "cost"] },
            TestScenarios.VolumeAlert(ids[2], "fold-agent-2", now, AlertChange.Recovered)], default);
        await Project(projector); // part of the history projected, the rest below: the fold must not depend on batching
        Assert.IsType<IncidentChangeOutcome.Changed>(await apiLog.ChangeAsync((await apiLog.LoadAsync(ids[3], default))!, AlertChange.Acknowledged, "carol@example.com", null, now, default));
        Assert.IsType<IncidentChangeOutcome.Changed>(await apiLog.ChangeAsync((await apiLog.LoadAsync(ids[4], default))!, AlertChange.Resolved, "dan@example.com", "noise", now, default));
        Assert.IsType<IncidentChangeOutcome.Refused>(await apiLog.ChangeAsync((await apiLog.LoadAsync(ids[2], default))!, AlertChange.Acknowledged, "carol@example.com", null, now, default));
        await Project(projector);

        var readModel = new IncidentReadModel(api);
        var projected = await ListAllAsync(readModel);
        Assert.Equal(ids.Order().ToList(), projected.Select(r => r.IncidentId).Order().ToList());
        foreach (var row in projected)
        {
            Assert.Equal(Expected(row.IncidentId, (await apiLog.LoadAsync(row.IncidentId, default))!), Comparable(row));
        }
        Assert.Equal(["open", "open", "recovered", "acknowledged", "resolved", "open"], ids.Select(id => projected.Single(r => r.IncidentId == id).Status).ToList());
        Assert.Equal("critical", projected.Single(r => r.IncidentId == ids[1]).Severity);
        Assert.Equal(4, (await readModel.ListAsync(new IncidentQuery(DateTimeOffset.MinValue, 100) { OpenOnly = true }, default)).Count);

        var (exit, output) = await fx.AuditctlAsync(store, "projections", "rebuild", "read-models");
        Assert.True(exit == 0, output);
        var rebuilt = await ListAllAsync(readModel);
        Assert.Equal(projected, rebuilt, new RowComparer());
    }

    private static Task Project(Npgsql.NpgsqlDataSource ds) =>
        new StoreSubscription(ds, ReadModelProjection.SubscriptionName, new ReadModelProjection(ds).HandleAsync,
            new SubscriptionOptions { StopWhenCaughtUp = true }).RunAsync(default);

    private static Task<List<IncidentRow>> ListAllAsync(IncidentReadModel readModel) =>
        readModel.ListAsync(new IncidentQuery(DateTimeOffset.MinValue, 1000), default);

    private static string Expected(Guid id, IncidentState fold) =>
        $"{id}|{fold.Opened.AgentId}|{WireNames.Of(fold.Severity)}|{fold.Status}|{fold.Open}|{fold.AcknowledgedBy}|{string.Join(',', fold.Latest.Categories)}|{fold.Latest.Title}|{fold.Opened.StartedAt:O}|{fold.Latest.At:O}|{fold.Version}";

    private static string Comparable(IncidentRow r) =>
        $"{r.IncidentId}|{r.AgentId}|{r.Severity}|{r.Status}|{r.Open}|{r.AcknowledgedBy}|{string.Join(',', r.Categories)}|{r.Title}|{r.StartedAt:O}|{r.UpdatedAt:O}|{r.Version}";

    private sealed class RowComparer : IEqualityComparer<IncidentRow>
    {
        public bool Equals(IncidentRow? x, IncidentRow? y) => x is not null && y is not null && Comparable(x) == Comparable(y);
        public int GetHashCode(IncidentRow obj) => Comparable(obj).GetHashCode(StringComparison.Ordinal);
    }

    private static NewStreamEvent CallEvent()
    {
        var id = Guid.CreateVersion7();
        return new NewStreamEvent(id, ApiCallRecorded.TypeName, DateTimeOffset.UtcNow, Payload(id.ToString()));
    }

    private static NewStreamEvent Event()
    {
        var id = Guid.CreateVersion7();
        return new NewStreamEvent(id, AgentScopeChanged.TypeName, DateTimeOffset.UtcNow, Payload(id.ToString()));
    }

    private static byte[] Payload(string marker) => System.Text.Encoding.UTF8.GetBytes($"{{\"agent_id\":\"stale-agent\",\"marker\":\"{marker}\"}}");
}
