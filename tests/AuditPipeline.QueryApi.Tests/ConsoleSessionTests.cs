using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AuditPipeline.Access;
using Xunit;

namespace AuditPipeline.QueryApi.Tests;

/// <summary>The web console's sign-in: an API key exchanged for an HttpOnly session cookie.</summary>
[Collection(ApiCollection.Name)]
public sealed class ConsoleSessionTests(ApiFixture fx)
{
    [Fact]
    public async Task A_session_cookie_stands_in_for_the_key_until_sign_out_or_revocation_and_changes_need_the_console_header()
    {
        await using var ds = fx.Store.DataSource(AuditPipeline.Testing.ServiceRole.Ops);
        var keys = new ApiKeyStore(ds, TimeProvider.System);
        var (key, token) = await keys.CreateAsync("console@example.com", [Roles.OnCall], [], [], "console session test", null, "test", default);
        using var browser = fx.Factory.CreateClient(); // keeps cookies, like a browser

        using var bad = await browser.PostAsJsonAsync("/v1/session", new { apiKey = "apk_aaaaaaaaaaaa_" + new string('b', 43) });
        Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
        using var empty = await browser.PostAsJsonAsync("/v1/session", new { apiKey = "" });
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);

        using var signIn = await browser.PostAsJsonAsync("/v1/session", new { apiKey = token });
        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        var cookie = Assert.Single(signIn.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(token, cookie, StringComparison.Ordinal);
        var who = await browser.GetFromJsonAsync<JsonElement>("/v1/session");
        Assert.Equal(key.KeyId, who.GetProperty("keyId").GetString());
        Assert.Equal(["oncall"], who.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/v1/agents")).StatusCode);

        // A change carried only by the cookie must also carry the console header (a cross-site form cannot).
        using (var noHeader = await browser.PostAsJsonAsync($"/v1/alerts/{Guid.NewGuid()}/acknowledge", new { note = "x" }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, noHeader.StatusCode);
        }
        using (var withHeader = new HttpRequestMessage(HttpMethod.Post, $"/v1/alerts/{Guid.NewGuid()}/acknowledge") { Content = JsonContent.Create(new { note = "x" }) })
        {
            withHeader.Headers.Add("X-AuditPipeline-Console", "1");
            Assert.Equal(HttpStatusCode.NotFound, (await browser.SendAsync(withHeader)).StatusCode); // authenticated: the incident is unknown
        }

        // Revoking the key ends the session at once.
        await keys.RevokeAsync(key.KeyId, "test", default);
        using var revoked = await browser.GetAsync("/v1/agents");
        Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);
        Assert.Contains("revoked", await revoked.Content.ReadAsStringAsync());

        // Sign-out: the cookie no longer works.
        var (_, second) = await keys.CreateAsync("console@example.com", [Roles.Auditor], [], [], "console session test", null, "test", default);
        Assert.Equal(HttpStatusCode.OK, (await browser.PostAsJsonAsync("/v1/session", new { apiKey = second })).StatusCode);
        using (var signOut = new HttpRequestMessage(HttpMethod.Delete, "/v1/session"))
        {
            signOut.Headers.Add("X-AuditPipeline-Console", "1");
            Assert.Equal(HttpStatusCode.NoContent, (await browser.SendAsync(signOut)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/v1/session")).StatusCode);
    }

    [Fact]
    public async Task The_console_is_served_without_a_key_with_a_strict_content_security_policy()
    {
        using var anonymous = fx.Client(null);
        using var page = await anonymous.GetAsync("/console/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<script type=\"module\" src=\"app.js\">", await page.Content.ReadAsStringAsync());
        var csp = string.Join(";", page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'self'", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/console/app.js")).StatusCode);
        // The data behind it is not public.
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/v1/agents")).StatusCode);
    }

    [Fact]
    public async Task Agent_resources_come_from_clickhouse_and_respect_scope()
    {
        using var auditor = fx.Client("auditor");
        var resources = await auditor.GetFromJsonAsync<JsonElement>("/v1/agents/agent-0000/resources");
        Assert.True(resources.GetArrayLength() > 0);
        Assert.All(resources.EnumerateArray(), r => Assert.True(r.GetProperty("actions").GetInt64() > 0));
        Assert.Contains(resources.EnumerateArray(), r => r.GetProperty("resourceId").GetString() == "ledger/eu/42");
        using var scoped = fx.Client("payments-auditor");
        Assert.Equal(HttpStatusCode.NotFound, (await scoped.GetAsync("/v1/agents/agent-0001/resources")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await auditor.GetAsync("/v1/agents/a%20b/resources")).StatusCode);
    }
}
