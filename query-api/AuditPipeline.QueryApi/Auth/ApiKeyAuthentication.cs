using System.Security.Claims;
using System.Text.Encodings.Web;
using AuditPipeline.Access;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace AuditPipeline.QueryApi.Auth;

/// <summary>
/// Authenticates <c>Authorization: Bearer apk_…</c> (or <c>X-Api-Key</c>, or a web console
/// session cookie, see <see cref="ConsoleSessions"/>) against the stored
/// salted hashes. Revoked and expired keys fail like unknown ones (401), with the reason in the
/// problem details. Another scheme (OIDC/JWT) can be added next to this one: endpoints only see
/// roles and scope claims. Only a well-formed token costs a database look-up, and the rate
/// limiter in front has already counted it (<see cref="RequestRateLimits"/>). A presented key id
/// becomes the call's principal only once the database knows it; unknown ones are counted by
/// reason (<see cref="AnonymousCalls"/>), never kept.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    ApiKeyStore keys, TimeProvider clock, ConsoleSessions sessions, KnownKeys known, ApiMetrics metrics)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string TeamClaim = "scope_team";
    public const string OwnerClaim = "scope_owner";
    private const string FailureItem = "auth-failure";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var token = Token(Request);
        if (token is null && Request.Cookies.TryGetValue(ConsoleSessions.CookieName, out var session))
        {
            token = sessions.TokenOf(session);
            if (token is null)
            {
                return Fail(AnonymousCalls.SessionEnded, "The console session has ended; sign in again.");
            }
            if (!HttpMethods.IsGet(Request.Method) && !HttpMethods.IsHead(Request.Method) && !Request.Headers.ContainsKey(ConsoleSessions.CsrfHeader))
            {
                return Fail(AnonymousCalls.MissingCsrfHeader, $"Console requests that change something must carry the {ConsoleSessions.CsrfHeader} header.");
            }
        }
        if (token is null)
        {
            CallContext.Of(Context).AuthFailure = AnonymousCalls.NoKey;
            return AuthenticateResult.NoResult();
        }
        if (!ApiKeyStore.TryParseToken(token, out var keyId, out _))
        {
            return Fail(AnonymousCalls.MalformedKey, "The API key is not valid.");
        }
        metrics.KeyLookedUp();
        var key = await keys.AuthenticateAsync(token, Context.RequestAborted);
        if (key is null)
        {
            known.Forget(keyId);
            return Fail(AnonymousCalls.UnknownKey, "The API key is not valid.");
        }
        if (key.Unusable(clock.GetUtcNow()) is { } reason)
        {
            // A real key: its failures are recorded one by one (streams per real key are bounded).
            known.Forget(keyId);
            CallContext.Of(Context).Principal = $"unverified {keyId}";
            return Fail(reason, $"The API key {key.KeyId} is {reason}.");
        }
        var claims = new List<Claim> { new(ClaimTypes.NameIdentifier, key.KeyId), new(ClaimTypes.Name, key.Owner) };
        claims.AddRange(key.Roles.Select(r => new Claim(ClaimTypes.Role, r)));
        claims.AddRange(key.Teams.Select(t => new Claim(TeamClaim, t)));
        claims.AddRange(key.Owners.Select(o => new Claim(OwnerClaim, o)));
        known.Remember(key.KeyId);
        CallContext.Of(Context).Principal = key.KeyId;
        CallContext.Of(Context).PrincipalOwner = key.Owner;
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        var detail = Context.Items[FailureItem] as string ?? "Send an API key: Authorization: Bearer apk_… (create one with auditctl keys create).";
        await Results.Problem(statusCode: 401, title: "Authentication required", detail: detail).ExecuteAsync(Context);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        await Results.Problem(statusCode: 403, title: "Forbidden",
            detail: "This API key's roles do not allow this operation.").ExecuteAsync(Context);

    /// <summary>The token a request presents (header, or the console session's), without checking it: for the rate limiter's partition.</summary>
    public static string? PresentedToken(HttpRequest request, ConsoleSessions sessions) =>
        Token(request) ?? (request.Cookies.TryGetValue(ConsoleSessions.CookieName, out var session) ? sessions.TokenOf(session) : null);

    private AuthenticateResult Fail(string reasonCode, string reason)
    {
        CallContext.Of(Context).AuthFailure = reasonCode;
        Context.Items[FailureItem] = reason;
        return AuthenticateResult.Fail(reason);
    }

    private static string? Token(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return header[7..].Trim();
        }
        var apiKey = request.Headers["X-Api-Key"].ToString();
        return apiKey.Length > 0 ? apiKey.Trim() : null;
    }
}

/// <summary>Authorization policies: what each role may do.</summary>
public static class Policies
{
    /// <summary>Agents, their activity and actions: auditors and on-call.</summary>
    public const string ReadActivity = "read-activity";
    /// <summary>Why-authorized chains, integrity verification, exports: auditors.</summary>
    public const string Audit = "audit";
    /// <summary>Alerts: on-call and auditors (alerts are part of the audit trail).</summary>
    public const string ReadAlerts = "read-alerts";
    /// <summary>Acknowledge and resolve alerts: on-call.</summary>
    public const string ChangeAlerts = "change-alerts";
    /// <summary>Keys and settings: admins (who, by separation of duties, do not read data unless also given a data role).</summary>
    public const string Admin = "admin";

    public static void Add(Microsoft.AspNetCore.Authorization.AuthorizationOptions options)
    {
        options.AddPolicy(ReadActivity, p => p.RequireRole(Roles.Auditor, Roles.OnCall));
        options.AddPolicy(Audit, p => p.RequireRole(Roles.Auditor));
        options.AddPolicy(ReadAlerts, p => p.RequireRole(Roles.OnCall, Roles.Auditor));
        options.AddPolicy(ChangeAlerts, p => p.RequireRole(Roles.OnCall));
        options.AddPolicy(Admin, p => p.RequireRole(Roles.Admin));
    }
}

/// <summary>
/// Which teams and owners a principal may see. Unscoped principals see everything; for scoped
/// ones, out-of-scope data is invisible (filtered out, or 404), never merely forbidden.
/// </summary>
public sealed record AccessScope(IReadOnlyList<string> Teams, IReadOnlyList<string> Owners)
{
    public bool IsScoped => Teams.Count > 0 || Owners.Count > 0;

    public bool Allows(string? team, string? owner) =>
        !IsScoped || (team is not null && Teams.Contains(team)) || (owner is not null && Owners.Contains(owner));

    public static AccessScope Of(ClaimsPrincipal user) => new(
        [.. user.FindAll(ApiKeyAuthenticationHandler.TeamClaim).Select(c => c.Value)],
        [.. user.FindAll(ApiKeyAuthenticationHandler.OwnerClaim).Select(c => c.Value)]);
}
