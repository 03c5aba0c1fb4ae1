using System.Text.Json;
using AuditPipeline.Contracts.Validation;
using AuditPipeline.Emitter;
using AuditPipeline.EventStore;
using AuditPipeline.IntegrationTests.Infrastructure;
using AuditPipeline.Projections;
using AuditPipeline.Testing;
using Xunit;

namespace AuditPipeline.IntegrationTests;

/// <summary>
/// <c>--json</c> on the read commands: stdout is one JSON document (camelCase) with the values the
/// plain output shows, and the exit code is the plain command's.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class CliJsonTests(PipelineFixture fx)
{
    [Fact]
    public async Task Read_commands_with_json_print_what_the_plain_output_says_as_json()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        var fleet = new SampleFleet(2, seed: 93);
        var (first, second) = (fleet.Agents[0], fleet.Agents[1]);
        var reject = new QuarantineEntry(new SourceMessage(new SourcePosition("agent-actions", 2, 41), null, "{\"event_id\": \"trunc"u8.ToArray()),
            new Rejection(RejectCodes.MalformedJson, "not JSON"));
        await using (var ingest = store.DataSource(ServiceRole.Ingest))
        {
            await new PostgresEventStore(ingest, TimeProvider.System).AppendAsync(
                [.. TestEvents.ForAgent(fleet, first, 3, DateTimeOffset.UtcNow.AddMinutes(-5)), .. TestEvents.ForAgent(fleet, second, 2, DateTimeOffset.UtcNow.AddMinutes(-4))],
                [reject], default);
        }

        var (statsExit, statsText) = await fx.AuditctlAsync(store, "store", "stats");
        using var stats = await JsonAsync(store, 0, "store", "stats", "--json");
        Assert.True(statsExit == 0, statsText);
        Assert.Equal($"events={Long(stats, "events")} agents={Long(stats, "agents")} quarantined={Long(stats, "quarantined")} log_size={Long(stats, "logSize")}", statsText.Trim());
        Assert.Equal(5, Long(stats, "events"));
        Assert.Equal(1, Long(stats, "quarantined"));

        var (_, quarantineText) = await fx.AuditctlAsync(store, "store", "quarantine");
        using var quarantine = await JsonAsync(store, 0, "store", "quarantine", "--json");
        var row = Assert.Single(quarantine.RootElement.EnumerateArray());
        Assert.StartsWith($"#{row.GetProperty("id").GetInt64()} ", quarantineText, StringComparison.Ordinal);
        Assert.Equal(RejectCodes.MalformedJson, row.GetProperty("reasonCode").GetString());
        Assert.Contains($"agent-actions[2]@41 {RejectCodes.MalformedJson}: {row.GetProperty("reason").GetString()}", quarantineText, StringComparison.Ordinal);

        var (_, scopeText) = await fx.AuditctlAsync(store, "agents", "scope", "show", first.Id);
        using var scope = await JsonAsync(store, 0, "agents", "scope", "show", first.Id, "--json");
        Assert.Equal(first.Id, scope.RootElement.GetProperty("agentId").GetString());
        Assert.Contains($"team={scope.RootElement.GetProperty("team").GetString()}  owner={scope.RootElement.GetProperty("owner").GetString()}", scopeText, StringComparison.Ordinal);
        Assert.Contains($"by log position {Long(scope, "pinnedByPosition")}", scopeText, StringComparison.Ordinal);
        // Not found: exit 1, the reason on stderr, nothing on stdout for a script to misread.
        var (missingExit, missingStdOut, missingText) = await fx.AuditctlStdOutAsync(store, "agents", "scope", "show", "nobody-here", "--json");
        Assert.True(missingExit == 1 && missingStdOut.Length == 0 && missingText.Contains("nobody-here", StringComparison.Ordinal), missingText);

        var (verifyExit, verifyText) = await fx.AuditctlAsync(store, "verify");
        using var verify = await JsonAsync(store, 0, "verify", "--json");
        Assert.True(verifyExit == 0, verifyText);
        Assert.True(verify.RootElement.GetProperty("intact").GetBoolean());
        Assert.Contains($"verify: OK, {Long(verify, "eventsChecked")} events in {Long(verify, "streamsChecked")} agent chains intact", verifyText, StringComparison.Ordinal);
        Assert.Equal(0, verify.RootElement.GetProperty("breaks").GetArrayLength());

        var (_, subscriptionsText) = await fx.AuditctlAsync(store, "store", "subscriptions");
        using var subscriptions = await JsonAsync(store, 0, "store", "subscriptions", "--json");
        Assert.Equal(0, subscriptions.RootElement.GetArrayLength());
        Assert.Equal("no subscriptions have a checkpoint yet", subscriptionsText.Trim());

        // The tampered twin: the same command says "broken" in JSON, with exit 1 and the agent named.
        await store.ExecAsAdminAsync($"SET session_replication_role = replica; DELETE FROM audit.events WHERE stream_id = '{second.Id}' AND version = 1");
        using var broken = await JsonAsync(store, 1, "verify", "--json");
        Assert.False(broken.RootElement.GetProperty("intact").GetBoolean());
        var brokenChain = Assert.Single(broken.RootElement.GetProperty("breaks").EnumerateArray());
        Assert.Equal(second.Id, brokenChain.GetProperty("streamId").GetString());
    }

    [Fact]
    public async Task Why_with_json_gives_the_answer_and_its_integrity_as_fields()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        var fleet = new SampleFleet(1, seed: 94);
        var action = fleet.Next(fleet.Agents[0], DateTimeOffset.UtcNow.AddMinutes(-1));
        await using (var ingest = store.DataSource(ServiceRole.Ingest))
        {
            await new PostgresEventStore(ingest, TimeProvider.System).AppendAsync([TestEvents.Incoming(action)], [], default);
        }

        var (whyExit, whyText) = await fx.AuditctlAsync(store, "why", action.EventId.ToString());
        using var why = await JsonAsync(store, whyExit, "why", action.EventId.ToString(), "--json");
        Assert.True(whyExit == 0, whyText);
        Assert.Equal(action.EventId, why.RootElement.GetProperty("eventId").GetGuid());
        var integrity = why.RootElement.GetProperty("integrity");
        Assert.True(integrity.GetProperty("verified").GetBoolean());
        Assert.Contains($"hash      {integrity.GetProperty("hash").GetString()}", whyText, StringComparison.Ordinal);
        Assert.Contains($"log position {integrity.GetProperty("globalSeq").GetInt64()}", whyText, StringComparison.Ordinal);
        Assert.Equal(action.Agent.Id, integrity.GetProperty("agentId").GetString());
        var path = why.RootElement.GetProperty("path").EnumerateArray().ToList();
        Assert.NotEmpty(path);
        foreach (var link in path)
        {
            Assert.Contains($"  {link.GetProperty("kind").GetString(),-9} {link.GetProperty("id").GetString()}", whyText, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Alerts_and_keys_with_json_give_the_rows_the_plain_lists_print()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        var incident = Guid.CreateVersion7();
        await using (var detector = store.DataSource(ServiceRole.Detector))
        {
            await new AlertLog(detector, new PostgresEventStore(detector, TimeProvider.System))
                .AppendAsync([TestScenarios.VolumeAlert(incident, "json-agent", DateTimeOffset.UtcNow.AddMinutes(-3))], default);
        }
        await using (var projector = store.DataSource(ServiceRole.Projector))
        {
            await new StoreSubscription(projector, ReadModelProjection.SubscriptionName, new ReadModelProjection(projector).HandleAsync,
                new SubscriptionOptions { StopWhenCaughtUp = true }).RunAsync(default);
        }

        var (_, listText) = await fx.AuditctlAsync(store, "alerts", "list");
        using var list = await JsonAsync(store, 0, "alerts", "list", "--json");
        var row = Assert.Single(list.RootElement.EnumerateArray());
        Assert.Equal(incident, row.GetProperty("incidentId").GetGuid());
        Assert.Contains($"{incident}  {row.GetProperty("severity").GetString(),-8} {row.GetProperty("status").GetString(),-12}", listText, StringComparison.Ordinal);
        Assert.Contains(row.GetProperty("title").GetString()!, listText, StringComparison.Ordinal);

        using var show = await JsonAsync(store, 0, "alerts", "show", incident.ToString(), "--json");
        Assert.Equal("json-agent", show.RootElement.GetProperty("agentId").GetString());
        Assert.True(show.RootElement.GetProperty("open").GetBoolean());
        var change = Assert.Single(show.RootElement.GetProperty("changes").EnumerateArray());
        Assert.Equal("opened", change.GetProperty("change").GetString());
        Assert.Equal("400 actions in a minute, expected about 5", change.GetProperty("summary").GetString());
        Assert.Equal(JsonValueKind.Array, change.GetProperty("evidence").ValueKind);
        var (missingExit, missingStdOut, _) = await fx.AuditctlStdOutAsync(store, "alerts", "show", Guid.CreateVersion7().ToString(), "--json");
        Assert.True(missingExit == 1 && missingStdOut.Length == 0, $"exit {missingExit}: {missingStdOut}");

        var (createExit, token, createText) = await fx.AuditctlStdOutAsync(store, "keys", "create", "--owner", "json@example.com", "--roles", "auditor", "--teams", "payments");
        Assert.True(createExit == 0, createText);
        var (_, keysText) = await fx.AuditctlAsync(store, "keys", "list");
        using var keys = await JsonAsync(store, 0, "keys", "list", "--json");
        var key = Assert.Single(keys.RootElement.EnumerateArray());
        Assert.Equal("active", key.GetProperty("state").GetString());
        Assert.Equal(["payments"], key.GetProperty("teams").EnumerateArray().Select(t => t.GetString()));
        Assert.StartsWith($"{key.GetProperty("keyId").GetString()}  active   json@example.com  roles=auditor  teams=payments", keysText, StringComparison.Ordinal);
        // Never a secret: neither the token nor anything named like one.
        Assert.DoesNotContain(token.Trim()[^20..], keys.RootElement.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain("hash", keys.RootElement.GetRawText(), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Runs auditctl and parses its stdout, which must be JSON alone (progress and messages go to stderr).</summary>
    private async Task<JsonDocument> JsonAsync(TestStore store, int expectedExit, params string[] args)
    {
        var (exit, stdout, all) = await fx.AuditctlStdOutAsync(store, args);
        Assert.True(exit == expectedExit, $"exit {exit}: {all}");
        return JsonDocument.Parse(stdout);
    }

    private static long Long(JsonDocument doc, string name) => doc.RootElement.GetProperty(name).GetInt64();
}
