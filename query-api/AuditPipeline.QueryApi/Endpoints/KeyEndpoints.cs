using AuditPipeline.Access;
using AuditPipeline.QueryApi.Auth;

namespace AuditPipeline.QueryApi.Endpoints;

public sealed record KeyInfo(string KeyId, string Owner, IReadOnlyList<string> Roles, IReadOnlyList<string> Teams, IReadOnlyList<string> Owners,
    string? Description, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt);

/// <summary>Key administration (admin role). Keys are created and revoked with auditctl; the API lists them and revokes.</summary>
public static class KeyEndpoints
{
    public static void Map(WebApplication app)
    {
        var group = app.MapGroup("/v1/keys").RequireAuthorization(Policies.Admin).WithTags("admin");

        group.MapGet("/", async (ApiKeyStore keys, CancellationToken ct) =>
            Results.Ok((await keys.ListAsync(ct)).Select(k => new KeyInfo(k.KeyId, k.Owner, k.Roles, k.Teams, k.Owners, k.Description, k.CreatedAt, k.ExpiresAt, k.RevokedAt))))
            .WithSummary("Every API key (never its secret)");

        group.MapPost("/{keyId}/revoke", async (string keyId, HttpContext http, ApiKeyStore keys, CancellationToken ct) =>
        {
            QueryInput.Id(keyId, "keyId", max: 12);
            return await keys.RevokeAsync(keyId, $"api {CallContext.Of(http).Principal}", ct) ? Results.NoContent() : AgentEndpoints.NotFound($"No active key '{keyId}'.");
        }).WithSummary("Revoke a key at once");
    }
}
