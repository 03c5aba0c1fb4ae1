using System.Globalization;
using System.Security.Claims;
using AuditPipeline.ClickHouse;
using AuditPipeline.Access;
using AuditPipeline.QueryApi.Auth;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuditPipeline.QueryApi.Endpoints;

public sealed record SignInRequest(string? ApiKey);

public sealed record WhoAmI(string KeyId, string Owner, IReadOnlyList<string> Roles, IReadOnlyList<string> Teams, IReadOnlyList<string> Owners, DateTimeOffset? SessionExpires);

public sealed record AgentResource(string ResourceType, string ResourceId, string Sensitivity, DateTimeOffset FirstSeen, DateTimeOffset LastSeen, long Actions, bool New);

/// <summary>
/// The web console: static files under /console (no build step, no external requests), sessions
/// for it, and the few reads only the console needs.
/// </summary>
public static class ConsoleEndpoints
{
    /// <summary>Serves the console's files; they are public (the data behind them is not).</summary>
    public static void UseConsole(WebApplication app)
    {
        var root = Path.Combine(AppContext.BaseDirectory, "Console");
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/console", StringComparison.OrdinalIgnoreCase))
            {
                // Everything the console loads comes from here: no external requests, no framing, no inline script.
                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
                headers.CacheControl = "no-cache";
            }
            await next(context);
        });
        if (Directory.Exists(root))
        {
            var files = new PhysicalFileProvider(root);
            app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files, RequestPath = "/console" });
            app.UseStaticFiles(new StaticFileOptions { FileProvider = files, RequestPath = "/console" });
        }
    }

    public static void Map(WebApplication app)
    {
        app.MapGet("/", () => Results.Redirect("/console/")).AllowAnonymous().ExcludeFromDescription();

        app.MapPost("/v1/session", async (SignInRequest? body, HttpContext http, ApiKeyStore keys, ConsoleSessions sessions, TimeProvider clock,
            IOptions<QueryApiOptions> options, CancellationToken ct) =>
        {
            var token = body?.ApiKey?.Trim();
            if (string.IsNullOrEmpty(token) || token.Length > 200)
            {
                throw new InvalidInputException("apiKey", "'apiKey' is required (apk_…).");
            }
            var key = await keys.AuthenticateAsync(token, ct);
            if (key is null || key.Unusable(clock.GetUtcNow()) is not null)
            {
                return Results.Problem(statusCode: 401, title: "Sign-in failed", detail: key is null ? "The API key is not valid." : $"The API key {key.KeyId} is {key.Unusable(clock.GetUtcNow())}.");
            }
            var lifetime = TimeSpan.FromHours(options.Value.SessionHours);
            if (key.ExpiresAt is { } expires && expires - clock.GetUtcNow() < lifetime)
            {
                lifetime = expires - clock.GetUtcNow();
            }
            var (id, until) = sessions.Create(token, lifetime);
            http.Response.Cookies.Append(ConsoleSessions.CookieName, id, new CookieOptions
            {
                HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = http.Request.IsHttps, Path = "/", Expires = until, IsEssential = true,
            });
            CallContext.Of(http).Principal = key.KeyId;
            CallContext.Of(http).PrincipalOwner = key.Owner;
            return Results.Ok(new WhoAmI(key.KeyId, key.Owner, key.Roles, key.Teams, key.Owners, until));
        }).AllowAnonymous().WithTags("console").WithSummary("Sign in to the web console with an API key: sets an HttpOnly session cookie");

        app.MapGet("/v1/session", (HttpContext http) => Results.Ok(Who(http.User, null)))
            .WithTags("console").WithSummary("Who the caller is: key id, owner, roles, scope");

        app.MapDelete("/v1/session", (HttpContext http, ConsoleSessions sessions) =>
        {
            if (http.Request.Cookies.TryGetValue(ConsoleSessions.CookieName, out var id))
            {
                sessions.End(id);
            }
            http.Response.Cookies.Delete(ConsoleSessions.CookieName, new CookieOptions { Path = "/", SameSite = SameSiteMode.Strict, HttpOnly = true });
            return Results.NoContent();
        }).WithTags("console").WithSummary("Sign out of the web console");

        app.MapGet("/v1/agents/{agentId}/resources", async (string agentId, HttpContext http, NpgsqlDataSource db, ClickHouseClient clickHouse, AgentScopes scopes, TimeProvider clock, CancellationToken ct) =>
        {
            QueryInput.Id(agentId, "agentId");
            if (!await scopes.AllowsAsync(http.User, agentId, ct) || await AgentEndpoints.FindAsync(db, agentId, ct) is not { } agent)
            {
                return AgentEndpoints.NotFound($"No agent '{agentId}'.");
            }
            var tsv = await clickHouse.QueryAsync(
                "SELECT resource_type, resource_id, anyMerge(sensitivity), minMerge(first_seen_ms), maxMerge(last_seen_ms), countMerge(actions) AS n " +
                $"FROM agent_resources WHERE agent_id = {ClickHouseSql.Literal(agentId)} GROUP BY resource_type, resource_id ORDER BY n DESC LIMIT 200 FORMAT TSV", ct);
            var dayAgo = clock.GetUtcNow().AddHours(-24);
            var rows = tsv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).Select(f =>
            {
                var first = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(f[3], CultureInfo.InvariantCulture));
                return new AgentResource(Unescape(f[0]), Unescape(f[1]), Unescape(f[2]), first,
                    DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(f[4], CultureInfo.InvariantCulture)), long.Parse(f[5], CultureInfo.InvariantCulture),
                    first >= dayAgo && first > agent.FirstSeen.AddHours(1));
            }).ToList();
            return Results.Ok(rows);
        }).RequireAuthorization(Policies.ReadActivity).WithTags("agents")
          .WithSummary("Resources an agent touched (ClickHouse): sensitivity, first/last seen, actions; 'new' = first touched in the last 24 h, after its first hour");
    }

    private static WhoAmI Who(ClaimsPrincipal user, DateTimeOffset? expires) => new(
        user.FindFirstValue(ClaimTypes.NameIdentifier) ?? "", user.FindFirstValue(ClaimTypes.Name) ?? "",
        user.FindAll(ClaimTypes.Role).Select(c => c.Value).ToList(),
        user.FindAll(ApiKeyAuthenticationHandler.TeamClaim).Select(c => c.Value).ToList(),
        user.FindAll(ApiKeyAuthenticationHandler.OwnerClaim).Select(c => c.Value).ToList(), expires);

    /// <summary>ClickHouse TSV escapes \t, \n and backslashes in strings.</summary>
    private static string Unescape(string field) => field.Contains('\\', StringComparison.Ordinal)
        ? field.Replace("\\t", "\t", StringComparison.Ordinal).Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\'", "'", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal)
        : field;
}
