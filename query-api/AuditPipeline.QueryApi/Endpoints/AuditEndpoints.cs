using AuditPipeline.Queries;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity.Store;
using AuditPipeline.Redaction;
using AuditPipeline.Retention;
using Microsoft.Extensions.Options;
using AuditPipeline.QueryApi.Auth;
using Npgsql;

namespace AuditPipeline.QueryApi.Endpoints;

/// <summary>The event's place and hashes in its chain, whether they check out, and, when not, every reason why.</summary>
public sealed record IntegrityData(long Position, string StreamId, long Version, DateTimeOffset RecordedAt, string PrevHash, string Hash,
    bool HashMatchesContents, bool LinksToPreviousEvent, bool Verified, IReadOnlyList<string> Problems);

public sealed record WhyAuthorizedResponse(
    Guid EventId, string AgentId, IReadOnlyList<DelegationLink> Path, ActionPerformed Action, AuthorizationDecision Authorization,
    Outcome Outcome, DateTimeOffset OccurredAt, IntegrityData Integrity, RedactionStatus Redaction, string? ArchivedMonth);

/// <summary>
/// What redaction did to this event's fields: decrypted for you, shredded (the subject's key is
/// destroyed), keyed hashes, unreadable (unknown key or altered), or still encrypted because this
/// API has no master key.
/// </summary>
public sealed record RedactionStatus(IReadOnlyList<string> Decrypted, IReadOnlyList<string> Shredded, IReadOnlyList<string> Hashed,
    IReadOnlyList<string> Unreadable, IReadOnlyList<string> Encrypted);

public sealed record VerifyResponse(bool Intact, long EventsChecked, int ChainsChecked, IReadOnlyList<ChainBreak> Breaks);

public static class AuditEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/v1/events/{eventId:guid}/why", async (Guid eventId, HttpContext http, WhyAuthorizedService why, AgentScopes scopes, CancellationToken ct) =>
        {
            var answer = await why.AnswerAsync(eventId, (agent, token) => scopes.AllowsAsync(http.User, agent, token), ct);
            if (answer is null)
            {
                return AgentEndpoints.NotFound($"No action event {eventId} in the store (one of a month dropped from the hot store is answered only where QueryApi:ArchiveDirectory is set).");
            }
            var (proof, shown) = (answer.Proof, answer.Shown);
            var e = shown.Event;
            return Results.Ok(new WhyAuthorizedResponse(eventId, e.Agent.Id, answer.Path, e.Action, e.Authorization, e.Outcome, e.OccurredAt,
                new IntegrityData(proof.GlobalSeq, e.Agent.Id, proof.Version, proof.RecordedAt, proof.PrevHash, proof.Hash,
                    proof.HashMatchesContents, proof.LinksToPreviousEvent, proof.IntegrityVerified, proof.Problems),
                new RedactionStatus(shown.Decrypted, shown.Shredded, shown.Hashed, shown.Unreadable, shown.Encrypted), proof.ArchivedMonth));
        }).RequireAuthorization(Policies.Audit).WithTags("audit")
          .WithSummary("Why was this action authorized: human → delegations → agent → action → decision → policy/rule → approvals → grant, with integrity data");

        app.MapGet("/v1/verify", async (HttpContext http, ChainVerifier verifier, NpgsqlDataSource db, TimeProvider clock, IOptions<QueryApiOptions> options,
            CancellationToken ct) =>
        {
            var q = http.Request.Query;
            var agent = QueryInput.Id(q["agent"], "agent");
            var from = QueryInput.Time(q["from"], "from", clock);
            var to = QueryInput.Time(q["to"], "to", clock);
            if (from is not null && to is not null && from >= to)
            {
                throw new InvalidInputException("from", "'from' must be before 'to'.");
            }
            if (AccessScope.Of(http.User).IsScoped && agent is null)
            {
                throw new InvalidInputException("agent", "A key scoped to teams or owners must name the 'agent' to verify.");
            }
            if (agent is null)
            {
                // Every chain of the whole store is a batch job (auditctl verify), not a request.
                var maxDays = options.Value.MaxVerifyDays;
                if (from is null || to is null || to - from > TimeSpan.FromDays(maxDays))
                {
                    throw new InvalidInputException(from is null ? "from" : to is null ? "to" : "from",
                        $"Without an 'agent', 'from' and 'to' are required and may span at most {maxDays} days (QueryApi:MaxVerifyDays); verify the whole store with auditctl verify.");
                }
            }
            if (agent is not null && !await http.RequestServices.GetRequiredService<AgentScopes>().AllowsAsync(http.User, agent, ct))
            {
                return AgentEndpoints.NotFound($"No agent '{agent}'.");
            }
            var report = await verifier.VerifyAsync(new VerifyScope(agent, from, to), ct);
            return Results.Ok(new VerifyResponse(report.Intact, report.EventsChecked, report.StreamsChecked, report.Breaks));
        }).RequireAuthorization(Policies.Audit).WithTags("audit")
          .WithSummary("Recompute hash chains (one agent's, or every chain within a range of at most QueryApi:MaxVerifyDays) and report the first break of each broken chain");
    }
}
