using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using Xunit;

namespace AuditPipeline.QueryApi.Tests;

[Collection(ApiCollection.Name)]
public sealed class QueryApiTests(ApiFixture fx)
{
    private static readonly string[] Principals = ["none", "auditor", "oncall", "admin", "payments-auditor", "revoked", "expired"];

    /// <summary>Expected status per principal, in the order of <see cref="Principals"/>.</summary>
    private static readonly Dictionary<string, int[]> Matrix = new()
    {
        ["GET /v1/agents"] = [401, 200, 200, 403, 200, 401, 401],
        ["GET /v1/agents/agent-0000"] = [401, 200, 200, 403, 200, 401, 401],
        ["GET /v1/agents/agent-0001"] = [401, 200, 200, 403, 404, 401, 401],
        ["GET /v1/actions"] = [401, 200, 200, 403, 200, 401, 401],
        ["GET /v1/actions/counts?bucket=minute"] = [401, 200, 200, 403, 200, 401, 401],
        ["GET /v1/events/{approved}/why"] = [401, 200, 403, 403, 200, 401, 401],
        ["GET /v1/events/{support-event}/why"] = [401, 200, 403, 403, 404, 401, 401],
        ["GET /v1/verify?agent=agent-0000"] = [401, 200, 403, 403, 200, 401, 401],
        ["GET /v1/verify?agent=agent-0001"] = [401, 200, 403, 403, 404, 401, 401],
        ["GET /v1/alerts?status=all"] = [401, 200, 200, 403, 200, 401, 401],
        ["GET /v1/alerts/{payments-incident}"] = [401, 200, 200, 403, 200, 401, 401],
        ["GET /v1/alerts/{support-incident}"] = [401, 200, 200, 403, 404, 401, 401],
        ["POST /v1/alerts/{matrix-incident}/acknowledge"] = [401, 403, 200, 403, 200, 401, 401],
        ["POST /v1/alerts/{support-incident}/resolve"] = [401, 403, 200, 403, 404, 401, 401],
        ["GET /v1/keys"] = [401, 403, 403, 200, 403, 401, 401],
        ["GET /v1/checkpoints"] = [401, 200, 403, 403, 200, 401, 401],
        ["GET /v1/checkpoints/consistency?from=1&to=2"] = [401, 200, 403, 403, 200, 401, 401],
        // The body lacks the range: an auditor gets 400, a scoped auditor may not export at all.
        ["POST /v1/exports"] = [401, 400, 403, 403, 403, 401, 401],
        ["GET /openapi/v1.json"] = [401, 200, 200, 200, 200, 401, 401],
        ["GET /health"] = [200, 200, 200, 200, 200, 200, 200],
        ["GET /metrics"] = [401, 403, 403, 200, 403, 401, 401],
    };

    [Fact]
    public async Task The_metrics_endpoint_serves_prometheus_text_with_request_and_pipeline_metrics_to_an_admin()
    {
        using var warm = fx.Client("auditor");
        (await warm.GetAsync("/v1/agents")).EnsureSuccessStatusCode();
        using var admin = fx.Client("admin");
        string text = "";
        // The exporter caches a scrape briefly; the request above shows up in a later one.
        for (var attempt = 0; attempt < 20 && !text.Contains("http_server_request_duration_seconds_bucket", StringComparison.Ordinal); attempt++)
        {
            using var response = await admin.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
            text = await response.Content.ReadAsStringAsync();
            await Task.Delay(300);
        }
        Assert.Contains("http_server_request_duration_seconds_bucket", text, StringComparison.Ordinal);
        Assert.Contains("service_name=\"query-api\"", text, StringComparison.Ordinal);
        Assert.Contains("auditpipeline_api_", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_endpoint_answers_every_role_and_key_state_as_the_matrix_says()
    {
        var failures = new List<string>();
        foreach (var (request, expected) in Matrix)
        {
            for (var i = 0; i < Principals.Length; i++)
            {
                using var client = fx.Client(Principals[i] == "none" ? null : Principals[i]);
                var (method, path) = Split(request);
                using var message = new HttpRequestMessage(new HttpMethod(method), path);
                if (method == "POST")
                {
                    message.Content = JsonContent.Create(new { note = "matrix" });
                }
                using var response = await client.SendAsync(message);
                if ((int)response.StatusCode != expected[i])
                {
                    failures.Add($"{request} as {Principals[i]}: expected {expected[i]}, got {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
                if ((int)response.StatusCode >= 400)
                {
                    Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                }
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task Out_of_scope_rows_never_appear_for_a_scoped_key()
    {
        using var client = fx.Client("payments-auditor");
        var agents = await client.GetFromJsonAsync<JsonElement>("/v1/agents?limit=500");
        var ids = agents.GetProperty("items").EnumerateArray().Select(a => a.GetProperty("agentId").GetString()).ToList();
        Assert.Equal(["agent-0000", "agent-0005"], ids);

        var actions = await client.GetFromJsonAsync<JsonElement>("/v1/actions?limit=500");
        var teams = actions.GetProperty("items").EnumerateArray().Select(a => a.GetProperty("team").GetString()).Distinct().ToList();
        Assert.Equal(["payments"], teams);
        Assert.Equal(202, actions.GetProperty("items").GetArrayLength()); // 2 × 100 + the denied and the approved transfer

        var alerts = await client.GetFromJsonAsync<JsonElement>("/v1/alerts?status=all");
        Assert.DoesNotContain(alerts.GetProperty("items").EnumerateArray(), a => a.GetProperty("agentId").GetString() == "agent-0001");
        Assert.Contains(alerts.GetProperty("items").EnumerateArray(), a => a.GetProperty("incidentId").GetGuid() == fx.PaymentsIncident);

        using var unscoped = fx.Client("auditor");
        var all = await unscoped.GetFromJsonAsync<JsonElement>("/v1/agents");
        Assert.Equal(6, all.GetProperty("items").GetArrayLength());
        var verifyAll = await client.GetAsync("/v1/verify");
        Assert.Equal(HttpStatusCode.BadRequest, verifyAll.StatusCode);
    }

    [Theory]
    [InlineData("/v1/actions?limit=-1", "limit")]
    [InlineData("/v1/actions?limit=0", "limit")]
    [InlineData("/v1/actions?limit=99999999999999999999", "limit")]
    [InlineData("/v1/actions?limit=ten", "limit")]
    [InlineData("/v1/actions?from=yesterday", "from")]
    [InlineData("/v1/actions?from=2026-13-45T99:00:00Z", "from")]
    [InlineData("/v1/actions?from=2026-11-22T10:00:00", "from")]
    [InlineData("/v1/actions?from=1970-01-01T00:00:00Z", "from")]
    [InlineData("/v1/actions?from=2026-11-22T10:00:00Z&to=2026-11-21T10:00:00Z", "from")]
    [InlineData("/v1/actions?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from")]
    [InlineData("/v1/actions?agent=x%27%20OR%201%3D1%20--", "agent")]
    [InlineData("/v1/actions?decision=maybe", "decision")]
    [InlineData("/v1/actions?cursor=not!a*cursor", "cursor")]
    [InlineData("/v1/actions/counts?bucket=week", "bucket")]
    [InlineData("/v1/agents?unowned=yes", "unowned")]
    [InlineData("/v1/agents?owner=%00admin", "owner")]
    [InlineData("/v1/alerts?status=closed%3B", "status")]
    [InlineData("/v1/verify?agent=agent-0000&from=2026-11-22T10:00:00Z&to=2026-11-22T09:00:00Z", "from")]
    public async Task Hostile_or_malformed_values_get_a_400_naming_the_parameter(string path, string parameter)
    {
        using var client = fx.Client("auditor");
        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{path}: {(int)response.StatusCode} {body}");
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.True(problem.GetProperty("errors").TryGetProperty(parameter, out var messages), body);
        Assert.Contains($"'{parameter}'", messages[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_huge_value_is_refused_and_metacharacters_are_quoted_not_executed()
    {
        using var client = fx.Client("auditor");
        using var huge = await client.GetAsync("/v1/actions?agent=" + new string('a', 10_000));
        Assert.Equal(HttpStatusCode.BadRequest, huge.StatusCode);

        // No whitespace, so a valid id: it must reach ClickHouse quoted, match nothing, and not fail.
        foreach (var hostile in new[] { "a'b", "a\\'b", "x');DROP_TABLE_agent_actions;--", "`agent_id`", "a\\", "%27" })
        {
            var result = await client.GetFromJsonAsync<JsonElement>("/v1/actions?agent=" + Uri.EscapeDataString(hostile));
            Assert.Equal(0, result.GetProperty("items").GetArrayLength());
            var agent = await client.GetAsync("/v1/agents/" + Uri.EscapeDataString(hostile));
            Assert.Equal(HttpStatusCode.NotFound, agent.StatusCode);
        }
        var still = await client.GetFromJsonAsync<JsonElement>("/v1/actions?agent=agent-0001&limit=500");
        Assert.Equal(100, still.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Why_authorized_returns_the_exact_chain_of_a_denied_then_approved_delegated_transfer()
    {
        using var client = fx.Client("auditor");
        var approved = await client.GetFromJsonAsync<JsonElement>($"/v1/events/{fx.ApprovedEventId}/why");
        var path = approved.GetProperty("path").EnumerateArray().Select(l => $"{l.GetProperty("kind").GetString()}:{l.GetProperty("id").GetString()}").ToList();
        Assert.Equal("human:alice@example.com", path[0]);
        Assert.Contains("service:orchestrator-1", path);
        Assert.Contains("agent:agent-0000", path);
        var authorization = approved.GetProperty("authorization");
        Assert.Equal("allow", authorization.GetProperty("decision").GetString());
        Assert.Equal("payments-policy", authorization.GetProperty("policyId").GetString());
        Assert.Equal("v12", authorization.GetProperty("policyVersion").GetString());
        Assert.Equal("allow-transfer-with-approval", authorization.GetProperty("rule").GetString());
        Assert.Equal("bob@example.com", authorization.GetProperty("approvals")[0].GetProperty("approver").GetString());
        var integrity = approved.GetProperty("integrity");
        Assert.True(integrity.GetProperty("verified").GetBoolean());
        Assert.Equal(64, integrity.GetProperty("hash").GetString()!.Length);

        var denied = await client.GetFromJsonAsync<JsonElement>($"/v1/events/{fx.DeniedEventId}/why");
        Assert.Equal("deny", denied.GetProperty("authorization").GetProperty("decision").GetString());
        Assert.Equal("transfers need a second person's approval", denied.GetProperty("authorization").GetProperty("reason").GetString());
        Assert.Equal(0, denied.GetProperty("authorization").GetProperty("approvals").GetArrayLength());
        // Same agent chain: the approved transfer follows the denied one.
        Assert.Equal(denied.GetProperty("integrity").GetProperty("version").GetInt64() + 1, integrity.GetProperty("version").GetInt64());
        Assert.Equal(denied.GetProperty("integrity").GetProperty("hash").GetString(), integrity.GetProperty("prevHash").GetString());
    }

    [Fact]
    public async Task An_acknowledgement_is_visible_to_the_next_reader_and_stored_as_an_event()
    {
        using var oncall = fx.Client("oncall");
        using var ack = await oncall.PostAsJsonAsync($"/v1/alerts/{fx.PaymentsIncident}/acknowledge", new { note = "on it" });
        Assert.Equal(HttpStatusCode.OK, ack.StatusCode);

        using var auditor = fx.Client("auditor");
        var detail = await auditor.GetFromJsonAsync<JsonElement>($"/v1/alerts/{fx.PaymentsIncident}");
        Assert.Equal("acknowledged", detail.GetProperty("incident").GetProperty("status").GetString());
        Assert.Contains(fx.KeyIds["oncall"], detail.GetProperty("incident").GetProperty("acknowledgedBy").GetString(), StringComparison.Ordinal);

        await using var ds = fx.Store.SeedDataSource();
        var stored = (await new AlertLog(ds, new PostgresEventStore(ds, TimeProvider.System)).ReadAsync(DateTimeOffset.MinValue, long.MaxValue, default))
            .Select(a => a.Alert).Where(a => a.IncidentId == fx.PaymentsIncident && a.Change == AlertChange.Acknowledged).ToList();
        var change = Assert.Single(stored);
        Assert.Equal("on it", change.Note);
        Assert.StartsWith("oncall@example.com", change.Actor, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_call_is_recorded_with_its_principal_and_outcome()
    {
        // team is a parameter kept in clear (owner would be redacted, see ApiAbuseTests).
        var marker = Guid.NewGuid().ToString("N");
        using (var auditor = fx.Client("auditor"))
        {
            await auditor.GetAsync($"/v1/agents?team={marker}");
            await auditor.GetAsync($"/v1/keys?team={marker}");
        }
        using (var revoked = fx.Client("revoked"))
        {
            await revoked.GetAsync($"/v1/agents?team={marker}");
        }
        using (var anonymous = fx.Client(null))
        {
            await anonymous.GetAsync($"/v1/agents?team={marker}&anonymous=1");
        }
        using (var signIn = fx.Client(null))
        {
            await signIn.PostAsJsonAsync($"/v1/session?team={marker}", new { });
        }

        await using var ds = fx.Store.SeedDataSource();
        var calls = new List<ApiCallRecorded>();
        for (var attempt = 0; attempt < 50 && calls.Count < 4; attempt++)
        {
            await Task.Delay(100);
            calls = await CallsAsync(ds, marker);
        }
        Assert.Contains(calls, c => c.Principal == fx.KeyIds["auditor"] && c.PrincipalOwner == "auditor@example.com" && c.Route == "/v1/agents/" && c.Status == 200 && c.Outcome == "allowed");
        Assert.Contains(calls, c => c.Principal == fx.KeyIds["auditor"] && c.Status == 403 && c.Outcome == "forbidden");
        Assert.Contains(calls, c => c.Principal == $"unverified {fx.KeyIds["revoked"]}" && c.Status == 401);
        // Anonymous calls other than failed authentication are recorded one by one, in the one anonymous stream.
        Assert.Contains(calls, c => c.Principal == "anonymous" && c.Route == "/v1/session" && c.Status == 400 && c.Outcome == "invalid");
        // A failed authentication without a real key is counted in the aggregated record instead.
        Assert.DoesNotContain(calls, c => c.Principal == "anonymous" && c.Status == 401);
        Assert.DoesNotContain(calls, c => (c.Query ?? "").Contains("apk_", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_principal_over_its_rate_gets_429_with_retry_after()
    {
        await using var factory = fx.CreateFactory(requestsPerSecond: 1, burst: 3);
        using var client = fx.Client("auditor", factory);
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
        {
            using var response = await client.GetAsync("/v1/agents");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
            }
        }
        Assert.Equal(HttpStatusCode.OK, statuses[0]);
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        // Another principal is not affected.
        using var other = fx.Client("oncall", factory);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync("/v1/agents")).StatusCode);
    }

    [Fact]
    public async Task A_key_revoked_by_an_admin_stops_working_at_once()
    {
        await using var ds = fx.Store.SeedDataSource();
        var (key, token) = await new AuditPipeline.Access.ApiKeyStore(ds, TimeProvider.System)
            .CreateAsync("temp@example.com", ["auditor"], [], [], "revocation test", null, "test", default);
        await using var factory = fx.CreateFactory();
        using var client = fx.ClientWithToken(token, factory);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/agents")).StatusCode);

        using var admin = fx.Client("admin", factory);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync($"/v1/keys/{key.KeyId}/revoke", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync($"/v1/keys/{key.KeyId}/revoke", null)).StatusCode);
        using var refused = await client.GetAsync("/v1/agents");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("revoked", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readiness_names_each_dependency_and_fails_when_kafka_is_unreachable_without_leaking_secrets()
    {
        using var client = fx.Client(null);
        using var response = await client.GetAsync("/health/ready");
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var checks = JsonDocument.Parse(body).RootElement.GetProperty("checks").EnumerateArray()
            .ToDictionary(c => c.GetProperty("name").GetString()!, c => c.GetProperty("ok").GetBoolean());
        Assert.True(checks["postgresql"]);
        Assert.True(checks["clickhouse"]);
        Assert.False(checks["kafka"]);
        Assert.DoesNotContain("Password", body, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("127.0.0.1", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pages_follow_stable_cursors_without_gaps_or_repeats()
    {
        using var client = fx.Client("auditor");
        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await client.GetFromJsonAsync<JsonElement>("/v1/actions?agent=agent-0002&limit=7" + (cursor is null ? "" : $"&cursor={cursor}"));
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(a => a.GetProperty("eventId").GetString()!));
            cursor = page.GetProperty("nextCursor").ValueKind == JsonValueKind.Null ? null : page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        Assert.Equal(100, seen.Count);
        Assert.Equal(100, seen.Distinct().Count());
    }

    private static async Task<List<ApiCallRecorded>> CallsAsync(Npgsql.NpgsqlDataSource ds, string marker)
    {
        await using var cmd = ds.CreateCommand("SELECT payload::text FROM audit.events WHERE event_type = 'api-call.v1' AND payload::text LIKE @m");
        cmd.Parameters.AddWithValue("m", $"%{marker}%");
        await using var reader = await cmd.ExecuteReaderAsync();
        var calls = new List<ApiCallRecorded>();
        while (await reader.ReadAsync())
        {
            calls.Add(ContractJson.DeserializeApiCall(System.Text.Encoding.UTF8.GetBytes(reader.GetString(0))));
        }
        return calls;
    }

    private (string Method, string Path) Split(string request)
    {
        var parts = request.Split(' ', 2);
        var path = parts[1]
            .Replace("{approved}", fx.ApprovedEventId.ToString(), StringComparison.Ordinal)
            .Replace("{support-event}", fx.SupportEventId.ToString(), StringComparison.Ordinal)
            .Replace("{payments-incident}", fx.PaymentsIncident.ToString(), StringComparison.Ordinal)
            .Replace("{support-incident}", fx.SupportIncident.ToString(), StringComparison.Ordinal)
            .Replace("{matrix-incident}", fx.MatrixIncident.ToString(), StringComparison.Ordinal);
        return (parts[0], path);
    }
}
