using AuditPipeline.Contracts;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using AuditPipeline.Access;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity.Store;
using AuditPipeline.Redaction;
using AuditPipeline.Retention;
using AuditPipeline.Emitter;
using AuditPipeline.Projections;
using AuditPipeline.Testing;
using Microsoft.AspNetCore.Mvc.Testing;
using Npgsql;
using Xunit;

namespace AuditPipeline.QueryApi.Tests;

/// <summary>Issue 8 through the API: why-authorized for a month dropped to the archive, and redacted fields decrypted, hidden or shredded.</summary>
[Collection(ApiCollection.Name)]
public sealed class ArchiveAndRedactionApiTests(ApiFixture fx) : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("ap-api-archive-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public async Task Why_authorized_answers_from_the_archive_once_the_month_left_the_hot_store()
    {
        var store = await fx.NewStoreAsync();
        await using var ds = store.SeedDataSource();
        await using var owner = store.AdminDataSource();
        var clock = new ManualClock(new DateTimeOffset(2026, 9, 12, 12, 0, 0, TimeSpan.Zero));
        var events = new PostgresEventStore(ds, clock);
        var fleet = new SampleFleet(3, seed: 21);
        await events.AppendAsync(TestEvents.AcrossFleet(fleet, 300), [], default);
        var (denied, approved) = TestScenarios.DeniedThenApproved(fleet.Agents[0], clock.Now);
        await events.AppendAsync([TestEvents.Incoming(denied), TestEvents.Incoming(approved)], [], default);
        clock.Now = DateTimeOffset.UtcNow;
        await events.AppendAsync(TestEvents.AcrossFleet(fleet, 30), [], default);
        await ApiFixture.ProjectReadModelsAndTreeAsync(ds);
        var archive = new ArchiveLayout(Path.Combine(_work, "archive"));
        var retention = new RetentionService(ds, events, clock);
        await retention.SealAsync(new DateOnly(2026, 9, 1), archive, new BundleExporter(ds, new CheckpointService(ds, fx.Signer, []), fx.Signer), "ops@example.com", default);
        await retention.DropAsync(new DateOnly(2026, 9, 1), archive, owner, "ops@example.com", null, default);
        var token = await AuditorTokenAsync(ds);

        await using var withArchive = fx.CreateFactory(store, new Dictionary<string, string> { ["QueryApi:ArchiveDirectory"] = archive.Root });
        var answer = await ApiFixture.Bearer(withArchive, token).GetFromJsonAsync<JsonElement>($"/v1/events/{approved.EventId}/why");
        Assert.Equal("2026-09", answer.GetProperty("archivedMonth").GetString());
        Assert.True(answer.GetProperty("integrity").GetProperty("verified").GetBoolean());
        Assert.Contains(answer.GetProperty("path").EnumerateArray(), l => l.GetProperty("kind").GetString() == "approval");

        await using var hotOnly = fx.CreateFactory(store, new Dictionary<string, string>());
        // Without the archive only the read model's copy is left, and a copy is never evidence: nothing is shown.
        var unverified = await ApiFixture.Bearer(hotOnly, token).GetAsync($"/v1/events/{approved.EventId}/why");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, unverified.StatusCode);
        Assert.Contains("ArchiveDirectory", await unverified.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redacted_fields_are_decrypted_for_readers_until_the_subject_is_shredded()
    {
        var store = await fx.NewStoreAsync();
        await using var ds = store.SeedDataSource();
        await using var owner = store.AdminDataSource();
        var master = RandomNumberGenerator.GetBytes(32);
        var keys = new SubjectKeyStore(ds, new RedactionKeys(master), TimeProvider.System);
        var redactor = new PayloadRedactor(ds, keys, [RedactableFields.ActionInput, RedactableFields.OutcomeMessage], [RedactableFields.Approvers], TimeSpan.FromMinutes(1), TimeProvider.System);
        var fleet = new SampleFleet(2, seed: 22);
        var (denied, approved) = TestScenarios.DeniedThenApproved(fleet.Agents[0], DateTimeOffset.UtcNow);
        approved = approved with { Action = approved.Action with { Input = "wire 900 EUR to Jane Roe, IBAN DE02 1203 0000 0000 2020 51" } };
        var actions = new List<AuditPipeline.Contracts.AgentActionOccurred> { denied, approved };
        await new PostgresEventStore(ds, TimeProvider.System).AppendAsync(await redactor.RedactAsync(actions, [.. actions.Select(a => TestEvents.Incoming(a))], default), [], default);
        await ApiFixture.ProjectReadModelsAndTreeAsync(ds);
        var token = await AuditorTokenAsync(ds);
        var url = $"/v1/events/{approved.EventId}/why";

        await using var reader = fx.CreateFactory(store, new Dictionary<string, string> { ["Redaction:MasterKey"] = Convert.ToBase64String(master) });
        var clear = await ApiFixture.Bearer(reader, token).GetFromJsonAsync<JsonElement>(url);
        Assert.Equal(approved.Action.Input, clear.GetProperty("action").GetProperty("input").GetString());
        Assert.Contains("action.input", clear.GetProperty("redaction").GetProperty("decrypted").EnumerateArray().Select(x => x.GetString()));
        Assert.Contains("authorization.approvals[0].approver", clear.GetProperty("redaction").GetProperty("hashed").EnumerateArray().Select(x => x.GetString()));
        Assert.True(clear.GetProperty("integrity").GetProperty("verified").GetBoolean());

        await using var noKey = fx.CreateFactory(store, new Dictionary<string, string>());
        var opaque = await ApiFixture.Bearer(noKey, token).GetFromJsonAsync<JsonElement>(url);
        Assert.StartsWith(FieldEnvelope.EncryptedPrefix, opaque.GetProperty("action").GetProperty("input").GetString());
        Assert.Contains("action.input", opaque.GetProperty("redaction").GetProperty("encrypted").EnumerateArray().Select(x => x.GetString()));

        Assert.NotEmpty(await keys.ShredAsync(owner, PayloadRedactor.SubjectOf(approved), "dpo@example.com", default));
        var shredded = await ApiFixture.Bearer(reader, token).GetFromJsonAsync<JsonElement>(url);
        Assert.Equal(FieldEnvelope.Shredded, shredded.GetProperty("action").GetProperty("input").GetString());
        Assert.Contains("action.input", shredded.GetProperty("redaction").GetProperty("shredded").EnumerateArray().Select(x => x.GetString()));
        Assert.True(shredded.GetProperty("integrity").GetProperty("verified").GetBoolean());
        Assert.DoesNotContain("Jane Roe", shredded.GetRawText());
    }


    private static async Task<string> AuditorTokenAsync(NpgsqlDataSource ds) =>
        (await new ApiKeyStore(ds, TimeProvider.System).CreateAsync("auditor@example.com", [Roles.Auditor], [], [], "archive test", null, "test", default)).Token;

}
