using AuditPipeline.Integrity;
using System.Globalization;
using AuditPipeline.Integrity.Store;
using AuditPipeline.QueryApi.Auth;
using Npgsql;

namespace AuditPipeline.QueryApi.Endpoints;

public sealed record CheckpointPage(IReadOnlyList<CheckpointDocument> Items, string? NextCursor);

/// <summary>Signed checkpoints and Merkle proofs (auditor role).</summary>
public static class IntegrityEndpoints
{
    public static void Map(WebApplication app)
    {
        var group = app.MapGroup("/v1/checkpoints").WithTags("integrity").RequireAuthorization(Policies.Audit);

        group.MapGet("/", async (HttpContext http, CheckpointLog log, ApiTrustedKeys trusted, Microsoft.Extensions.Options.IOptions<QueryApiOptions> options, CancellationToken ct) =>
        {
            var q = http.Request.Query;
            var limit = QueryInput.Limit(q["limit"], options.Value);
            var before = long.MaxValue;
            if (QueryInput.ReadCursor(q["cursor"], 1) is { } cursor)
            {
                before = long.TryParse(cursor[0], NumberStyles.None, CultureInfo.InvariantCulture, out var b) ? b : throw new InvalidInputException("cursor", "'cursor' is not valid.");
            }
            var keys = await log.PublicKeysAsync(ct);
            var page = await log.ListAsync(before, limit + 1, ct);
            var items = page.Take(limit).Select(c => CheckpointDocument.Checked(c, trusted.Keys, keys.GetValueOrDefault(c.KeyId))).ToList();
            return Results.Ok(new CheckpointPage(items, page.Count > limit ? QueryInput.Cursor(items[^1].Size.ToString(CultureInfo.InvariantCulture)) : null));
        }).WithSummary("Signed checkpoints, newest first, each verified against this API's trusted keys (verified, problem) with the key that signed it");

        group.MapGet("/latest", async (CheckpointLog log, ApiTrustedKeys trusted, CancellationToken ct) =>
            await log.LatestAsync(ct) is { } c
                ? Results.Ok(CheckpointDocument.Checked(c, trusted.Keys, (await log.PublicKeysAsync(ct)).GetValueOrDefault(c.KeyId)))
                : AgentEndpoints.NotFound("No checkpoint has been signed yet."))
            .WithSummary("The newest signed checkpoint");

        group.MapGet("/{size:long}", async (long size, CheckpointLog log, ApiTrustedKeys trusted, CancellationToken ct) =>
            await log.BySizeAsync(size, ct) is { } c
                ? Results.Ok(CheckpointDocument.Checked(c, trusted.Keys, (await log.PublicKeysAsync(ct)).GetValueOrDefault(c.KeyId)))
                : AgentEndpoints.NotFound($"No checkpoint of log size {size}."))
            .WithSummary("The checkpoint signed at a log size");

        group.MapPost("/", async (HttpContext http, CancellationToken ct) =>
        {
            if (http.RequestServices.GetService<CheckpointService>() is not { } service)
            {
                return NotConfigured();
            }
            var call = CallContext.Of(http);
            var checkpoint = await service.CreateAsync(null, $"api {call.Principal}", ct);
            return Results.Ok(checkpoint);
        }).WithSummary("Sign a checkpoint of the whole log now (stored, written to the checkpoint directory, published)");

        group.MapGet("/consistency", async (HttpContext http, ProofService proofs, CancellationToken ct) =>
        {
            var q = http.Request.Query;
            var from = Size(q["from"], "from");
            var to = Size(q["to"], "to");
            try
            {
                return Results.Ok(await proofs.ConsistencyAsync(from, to, ct));
            }
            catch (ProofUnavailableException ex)
            {
                throw new InvalidInputException("to", ex.Message);
            }
        }).WithSummary("RFC 9162 consistency proof that the log at 'from' is a prefix of the log at 'to' (signed roots where checkpoints exist)");

        app.MapGet("/v1/events/{eventId:guid}/proof", async (Guid eventId, HttpContext http, ProofService proofs, AgentScopes scopes, NpgsqlDataSource db, CancellationToken ct) =>
        {
            var q = http.Request.Query;
            long? size = q["checkpoint"].Count > 0 ? Size(q["checkpoint"], "checkpoint") : null;
            // Scope first, with the same answer as for an absent event: a proof names the event's position.
            if (await new StoredMerkleTree(db).FindEventAsync(eventId, ct) is not { } found || !await scopes.AllowsAsync(http.User, found.StreamId, ct))
            {
                return AgentEndpoints.NotFound($"No event {eventId}.");
            }
            InclusionProofDocument proof;
            try
            {
                proof = await proofs.InclusionAsync(eventId, size, ct);
            }
            catch (ProofUnavailableException ex)
            {
                return Results.Problem(statusCode: 404, title: "No proof", detail: ex.Message);
            }
            return Results.Ok(proof);
        }).RequireAuthorization(Policies.Audit).WithTags("integrity")
          .WithSummary("RFC 9162 inclusion proof of an event in a signed checkpoint (the latest, or ?checkpoint=<size>), verified before it is returned");
    }

    public static IResult NotConfigured() => Results.Problem(statusCode: 503, title: "Signing not configured",
        detail: "This API has no checkpoint signing key (Integrity:SigningKeyFile); checkpoints and exports cannot be signed here.");

    private static long Size(Microsoft.Extensions.Primitives.StringValues value, string name) =>
        value.Count == 1 && long.TryParse(value[0], NumberStyles.None, CultureInfo.InvariantCulture, out var size) && size <= 1L << 60
            ? size
            : throw new InvalidInputException(name, $"'{name}' must be a log size (a non-negative integer).");
}
