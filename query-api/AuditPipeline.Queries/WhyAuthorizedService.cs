using AuditPipeline.Contracts;
using AuditPipeline.Integrity;
using AuditPipeline.Redaction;
using AuditPipeline.Retention;

namespace AuditPipeline.Queries;

/// <summary>
/// An answer to why-authorized as people are shown it: the verified record (<see cref="Proof"/>,
/// built from the bytes whose hash was checked) and the same event with its redacted fields
/// revealed where this caller holds the master key (<see cref="Shown"/>).
/// </summary>
public sealed record WhyAuthorizedAnswer(WhyAuthorized Proof, RevealedEvent Shown)
{
    /// <summary>The path human → delegations → agent → action → decision → policy → approvals → grant, from the revealed event.</summary>
    public IReadOnlyList<DelegationLink> Path { get; } = DelegationPath.Of(Shown.Event);
}

/// <summary>
/// The one why-authorized service of the API, the console (through the API) and the CLI: the
/// hot store, then the archive for months dropped from it, then redaction's reveal. Each caller
/// configures where the archive is, which keys archive segments must be signed with, and whether
/// it may decrypt; the rules are the same everywhere.
/// </summary>
public sealed class WhyAuthorizedService(WhyAuthorizedQuery query, ArchiveLayout? archive, TrustedKeys? trustedArchiveKeys, PayloadRevealer? revealer)
{
    /// <param name="mayRead">Asked with the event's agent before anything is shown; false answers null, as for an absent event.</param>
    public async Task<WhyAuthorizedAnswer?> AnswerAsync(Guid eventId, Func<string, CancellationToken, Task<bool>>? mayRead, CancellationToken ct)
    {
        var proof = await query.AnswerAsync(eventId, archive, trustedArchiveKeys, ct, mayRead);
        if (proof is null)
        {
            return null;
        }
        var shown = revealer is null ? PayloadRevealer.WithoutKey(proof.Event) : await revealer.RevealAsync(proof.Event, ct);
        return new WhyAuthorizedAnswer(proof, shown);
    }

    /// <summary>Whether months dropped from the hot store can be answered here.</summary>
    public bool SearchesArchive => archive is not null;
}
