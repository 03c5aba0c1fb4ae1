using AuditPipeline.EventStore;
using AuditPipeline.Emitter;
using AuditPipeline.IntegrationTests.Infrastructure;
using AuditPipeline.Testing;
using Xunit;

namespace AuditPipeline.IntegrationTests;

/// <summary>auditctl agents scope: the one recorded way an agent's pinned team and owner change.</summary>
[Collection(PipelineCollection.Name)]
public sealed class AgentScopeCommandTests(PipelineFixture fx)
{
    [Fact]
    public async Task Scope_is_pinned_by_the_first_action_and_moved_only_by_a_recorded_operator_change()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        var fleet = new SampleFleet(2, seed: 81);
        var agent = fleet.Agents[0];
        await using (var ingest = store.DataSource(ServiceRole.Ingest))
        {
            var first = fleet.Next(agent, DateTimeOffset.UtcNow.AddMinutes(-2));
            var claimsAnotherTeam = fleet.Next(agent with { Team = "marketing" }, DateTimeOffset.UtcNow.AddMinutes(-1));
            await new PostgresEventStore(ingest, TimeProvider.System).AppendAsync([TestEvents.Incoming(first), TestEvents.Incoming(claimsAnotherTeam, 1)], [], default);
        }

        var (showExit, shown) = await fx.AuditctlAsync(store, "agents", "scope", "show", agent.Id);
        Assert.True(showExit == 0, shown);
        Assert.Contains($"team={agent.Team}", shown);

        // The ingest credential (an emitter's path into the store) cannot make the change.
        var (deniedExit, denied) = await fx.AuditctlAsync(store, new Dictionary<string, string> { ["Store__ConnectionString"] = store.ConnectionString(ServiceRole.Ingest) },
            "agents", "scope", "set", agent.Id, "--team", "marketing", "--by", "mallory", "--reason", "widen my key");
        Assert.True(deniedExit == 2 && denied.Contains("42501", StringComparison.Ordinal), denied); // refused by the database (insufficient privilege)

        var (setExit, set) = await fx.AuditctlAsync(store, "agents", "scope", "set", agent.Id, "--team", "marketing", "--owner", "dana@example.com",
            "--by", "ops@example.com", "--reason", "CHG-1042 reorganisation");
        Assert.True(setExit == 0, set);
        Assert.Contains($"team {agent.Team} -> marketing", set);
        var (_, after) = await fx.AuditctlAsync(store, "agents", "scope", "show", agent.Id);
        Assert.Contains("team=marketing  owner=dana@example.com", after);
        Assert.Equal(1, await store.CountAsync(
            $"SELECT count(*) FROM audit.events WHERE event_type = 'agent-scope.v1' AND payload->>'actor' = 'ops@example.com' AND payload->>'reason' = 'CHG-1042 reorganisation' AND payload->>'previous_team' = '{agent.Team}'"));
        var (verifyExit, verified) = await fx.AuditctlAsync(store, "verify");
        Assert.True(verifyExit == 0, verified);

        var (unknownExit, unknown) = await fx.AuditctlAsync(store, "agents", "scope", "set", "nobody-here", "--team", "x", "--by", "ops", "--reason", "r");
        Assert.True(unknownExit == 2 && unknown.Contains("has no scope to change", StringComparison.Ordinal), unknown);
    }
}
