using AuditPipeline.Queries;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuditPipeline.Integrity;
using AuditPipeline.Integrity.Evidence;
using AuditPipeline.Integrity.Store;
using Xunit;

namespace AuditPipeline.QueryApi.Tests;

/// <summary>Checkpoints, proofs and evidence exports over the API.</summary>
[Collection(ApiCollection.Name)]
public sealed class IntegrityApiTests(ApiFixture fx)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task An_auditor_signs_checkpoints_and_gets_proofs_that_verify_on_their_own()
    {
        using var auditor = fx.Client("auditor");
        var first = await SignAsync(auditor);
        Assert.Null(CheckpointSigner.Verify(first.ToCheckpoint(), new Dictionary<string, string> { [fx.Signer.KeyId] = fx.Signer.PublicKeyPem }));
        Assert.Equal(fx.Signer.PublicKeyPem, first.PublicKeyPem);

        var proof = (await auditor.GetFromJsonAsync<InclusionProofDocument>($"/v1/events/{fx.ApprovedEventId}/proof", Json))!;
        Assert.True(proof.Verified);
        Assert.Equal(first.Size, proof.TreeSize);
        Assert.Equal("agent-0000", proof.StreamId);
        Assert.True(MerkleProofs.VerifyInclusion(proof.LeafIndex, first.Size, Convert.FromHexString(proof.LeafHash),
            proof.Proof.Select(Convert.FromHexString).ToList(), Convert.FromHexString(first.RootHash)));

        // The calls above were recorded as events: the log grew, and the next checkpoint is consistent with the first.
        await Task.Delay(1500);
        var second = await SignAsync(auditor);
        Assert.True(second.Size > first.Size, $"{second.Size} > {first.Size}");
        var consistency = (await auditor.GetFromJsonAsync<ConsistencyProofDocument>($"/v1/checkpoints/consistency?from={first.Size}&to={second.Size}", Json))!;
        Assert.True(consistency.Verified);
        Assert.True(MerkleProofs.VerifyConsistency(first.Size, second.Size, Convert.FromHexString(first.RootHash), Convert.FromHexString(second.RootHash),
            consistency.Proof.Select(Convert.FromHexString).ToList()));
        var pinned = (await auditor.GetFromJsonAsync<InclusionProofDocument>($"/v1/events/{fx.ApprovedEventId}/proof?checkpoint={first.Size}", Json))!;
        Assert.Equal(proof.Proof, pinned.Proof);

        var latest = (await auditor.GetFromJsonAsync<CheckpointDocument>("/v1/checkpoints/latest", Json))!;
        Assert.True(latest.Size >= second.Size);
        var page = await auditor.GetFromJsonAsync<JsonElement>("/v1/checkpoints?limit=1", Json);
        Assert.Single(page.GetProperty("items").EnumerateArray());
        var next = page.GetProperty("nextCursor").GetString();
        var older = await auditor.GetFromJsonAsync<JsonElement>($"/v1/checkpoints?limit=100&cursor={next}", Json);
        Assert.All(older.GetProperty("items").EnumerateArray(), c => Assert.True(c.GetProperty("size").GetInt64() < latest.Size));
    }

    [Fact]
    public async Task Proofs_respect_scope_and_bad_sizes_are_rejected_with_the_parameter_named()
    {
        using var auditor = fx.Client("auditor");
        await SignAsync(auditor);
        using var scoped = fx.Client("payments-auditor");
        Assert.Equal(HttpStatusCode.OK, (await scoped.GetAsync($"/v1/events/{fx.ApprovedEventId}/proof")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await scoped.GetAsync($"/v1/events/{fx.SupportEventId}/proof")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await auditor.GetAsync($"/v1/events/{Guid.NewGuid()}/proof")).StatusCode);
        using var oncall = fx.Client("oncall");
        Assert.Equal(HttpStatusCode.Forbidden, (await oncall.GetAsync($"/v1/events/{fx.ApprovedEventId}/proof")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await oncall.PostAsync("/v1/checkpoints", null)).StatusCode);

        foreach (var (path, parameter) in new[]
                 {
                     ($"/v1/events/{fx.ApprovedEventId}/proof?checkpoint=-1", "checkpoint"),
                     ($"/v1/events/{fx.ApprovedEventId}/proof?checkpoint=abc", "checkpoint"),
                     ($"/v1/events/{fx.ApprovedEventId}/proof?checkpoint=99999999999999999999", "checkpoint"),
                     ("/v1/checkpoints/consistency?from=1", "to"),
                     ("/v1/checkpoints/consistency?from=5&to=2", "to"),
                     ("/v1/checkpoints/consistency?from=1&to=999999999", "to"),
                     ("/v1/checkpoints?cursor=%27;DROP", "cursor"),
                 })
        {
            using var response = await auditor.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(problem.GetProperty("errors").TryGetProperty(parameter, out _), $"{path}: {problem}");
        }
        // A checkpoint that does not exist is a 404 that says so.
        using var missing = await auditor.GetAsync($"/v1/events/{fx.ApprovedEventId}/proof?checkpoint=3");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("no checkpoint of log size 3", await missing.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_auditor_exports_an_agent_bundle_that_downloads_as_a_zip_and_verifies_offline()
    {
        using var auditor = fx.Client("auditor");
        // agent-0000's actions (100 + denied + approved) and the alert changes about it (other tests may add some).
        var expected = await fx.Store.CountAsync(
            "SELECT count(*) FROM audit.events WHERE stream_id = 'agent-0000' OR (event_type = 'agent-alert.v1' AND payload->>'agent_id' = 'agent-0000')");
        Assert.True(expected >= 103);
        var started = await auditor.PostAsJsonAsync("/v1/exports", new
        {
            from = DateTimeOffset.UtcNow.AddDays(-1), to = DateTimeOffset.UtcNow.AddMinutes(5), agents = new[] { "agent-0000" },
        });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var job = await started.Content.ReadFromJsonAsync<JsonElement>();
        var id = job.GetProperty("id").GetString();
        Assert.Equal($"/v1/exports/{id}", started.Headers.Location?.OriginalString);

        JsonElement status = default;
        for (var deadline = DateTime.UtcNow.AddSeconds(60); DateTime.UtcNow < deadline;)
        {
            status = await auditor.GetFromJsonAsync<JsonElement>($"/v1/exports/{id}");
            if (status.GetProperty("state").GetString() is "done" or "failed")
            {
                break;
            }
            await Task.Delay(200);
        }
        Assert.Equal("done", status.GetProperty("state").GetString());
        Assert.Equal(expected, status.GetProperty("events").GetInt64());
        Assert.Equal(status.GetProperty("events").GetInt64(), status.GetProperty("total").GetInt64());

        // Only the principal who asked sees the job; on-call may not export at all.
        using var scoped = fx.Client("payments-auditor");
        Assert.Equal(HttpStatusCode.NotFound, (await scoped.GetAsync($"/v1/exports/{id}")).StatusCode);
        using var oncall = fx.Client("oncall");
        Assert.Equal(HttpStatusCode.Forbidden, (await oncall.GetAsync($"/v1/exports/{id}/bundle")).StatusCode);

        using var download = await auditor.GetAsync(status.GetProperty("download").GetString());
        Assert.Equal("application/zip", download.Content.Headers.ContentType?.MediaType);
        var folder = Directory.CreateTempSubdirectory("ap-api-bundle-").FullName;
        try
        {
            await using (var zip = await download.Content.ReadAsStreamAsync())
            {
                await ZipFile.ExtractToDirectoryAsync(zip, folder);
            }
            var report = (await BundleVerifier.VerifyAsync(folder, TrustedKeys.Pinned([fx.Signer.PublicKeyPem])));
            Assert.True(report.Ok, string.Join("\n", report.Problems));
            Assert.Equal(expected, report.Events);
            var why = await File.ReadAllLinesAsync(Path.Combine(folder, BundleFormat.WhyAuthorized));
            Assert.Contains(why, l => l.Contains(fx.ApprovedEventId.ToString(), StringComparison.Ordinal) && l.Contains("bob@example.com", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Exports_validate_their_input_and_need_a_signing_key()
    {
        using var auditor = fx.Client("auditor");
        var now = DateTimeOffset.UtcNow;
        foreach (var (body, parameter) in new (object Body, string Parameter)[]
                 {
                     (new { to = now }, "from"),
                     (new { from = now, to = now.AddMinutes(-1) }, "to"),
                     (new { from = now.AddDays(-400), to = now }, "to"),
                     (new { from = now.AddDays(-1), to = now, agents = new[] { "a b" } }, "agents"),
                     (new { from = now.AddDays(-1), to = now, owners = Enumerable.Range(0, 1001).Select(i => $"o{i}").ToArray() }, "owners"),
                 })
        {
            using var response = await auditor.PostAsJsonAsync("/v1/exports", body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(problem.GetProperty("errors").TryGetProperty(parameter, out _), problem.ToString());
        }

        await using var unsigned = fx.CreateFactory(signing: false);
        using var client = fx.Client("auditor", unsigned);
        using var checkpoint = await client.PostAsync("/v1/checkpoints", null);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, checkpoint.StatusCode);
        Assert.Contains("Integrity:SigningKeyFile", await checkpoint.Content.ReadAsStringAsync());
        using var export = await client.PostAsJsonAsync("/v1/exports", new { from = now.AddHours(-1), to = now });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, export.StatusCode);
        // Reading checkpoints and proofs needs no key.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/checkpoints")).StatusCode);
    }

    private static async Task<CheckpointDocument> SignAsync(HttpClient client)
    {
        using var response = await client.PostAsync("/v1/checkpoints", null);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<CheckpointDocument>(Json))!;
    }
}
