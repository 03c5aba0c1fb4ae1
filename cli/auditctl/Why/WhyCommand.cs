using AuditPipeline.Projections;
using AuditPipeline.Contracts;
using AuditPipeline.Queries;
using System.CommandLine;
using AuditPipeline.Integrity;
using AuditPipeline.Retention;
using AuditPipeline.Redaction;

namespace AuditPipeline.Cli.Why;

/// <summary>
/// <c>auditctl why</c>: the why-authorized answer (the service the API and the console use too).
/// Exit 0 verified, 1 no such action, 2 could not run, 3 found but its integrity is NOT verified.
/// </summary>
internal static class WhyCommand
{
    public static Command Create()
    {
        var eventId = new Argument<Guid?>("event-id") { Description = "The action's event id", Arity = ArgumentArity.ZeroOrOne };
        var latestApproved = new Option<bool>("--latest-approved") { Description = "Explain the most recent action that needed an approval" };
        var archive = new Option<string?>("--archive") { Description = "Look in the archive too (actions of months dropped from the hot store)" };
        var trusted = new Option<string[]>("--trusted-key") { Description = "Public key (PEM file, or a folder of them) archive segments must be signed with; repeatable; without it an archived answer is not verified", AllowMultipleArgumentsPerToken = false };
        var command = new Command("why", "Why was this action authorized? The path from the human to the decision, with integrity") { eventId, latestApproved, archive, trusted, JsonOutput.Flag };
        command.SetAction((parse, ct) => CliRun.Guarded("why", async () =>
        {
            await using var dataSource = CliSettings.AppDataSource();
            var id = parse.GetValue(eventId);
            if (id is null && parse.GetValue(latestApproved))
            {
                await using var pick = dataSource.CreateCommand(ReadModelSql.LatestApprovedAction);
                id = await pick.ExecuteScalarAsync(ct) as Guid?;
            }
            if (id is null)
            {
                Console.Error.WriteLine("give an event id (or --latest-approved)");
                return 2;
            }
            var trustedKeys = parse.GetValue(trusted) is { Length: > 0 } keyPaths ? TrustedKeys.Load(keyPaths) : null;
            var revealer = CliSettings.SubjectKeys(dataSource) is { } keys ? new PayloadRevealer(keys) : null;
            var why = new WhyAuthorizedService(new WhyAuthorizedQuery(dataSource),
                parse.GetValue(archive) is { } root ? new ArchiveLayout(root) : null, trustedKeys, revealer);
            var found = await why.AnswerAsync(id.Value, null, ct);
            if (found is null)
            {
                Console.Error.WriteLine($"no action event with id {id} in the store{(parse.GetValue(archive) is null ? " (give --archive for months dropped from the hot store)" : "")}");
                return 1;
            }
            var answer = found.Proof;
            if (parse.GetValue(JsonOutput.Flag))
            {
                JsonOutput.Write(ToJson(found));
                return answer.IntegrityVerified ? 0 : 3;
            }
            Console.WriteLine($"event {answer.EventId} at {answer.Event.OccurredAt:O}{(answer.ArchivedMonth is { } month ? $" (archived: sealed month {month})" : "")}");
            Print(found);
            Console.WriteLine($"  integrity agent {answer.Event.Agent.Id} version {answer.Version}, log position {answer.GlobalSeq}");
            Console.WriteLine($"            prev_hash {answer.PrevHash}");
            Console.WriteLine($"            hash      {answer.Hash}");
            Console.WriteLine("            " + (!answer.IntegrityVerified
                ? $"NOT VERIFIED: {string.Join("; ", answer.Problems)} (run auditctl verify{(answer.ArchivedMonth is null ? "" : " --archive")})"
                : answer.ArchivedMonth is null ? "verified: the hash matches the stored event and links to the previous one; shown from those bytes"
                : "verified: the archive segment verifies against the trusted key, and the archived event matches its chain hash and links to the previous one"));
            return answer.IntegrityVerified ? 0 : 3;
        }));
        return command;
    }

    /// <summary>
    /// The path and what the agent sent and got, with redacted fields decrypted where the subject's
    /// key still exists (the hashes below are always computed from the stored, redacted bytes).
    /// </summary>
    private static void Print(WhyAuthorizedAnswer answer)
    {
        var e = answer.Shown.Event;
        var note = Describe(answer.Shown);
        foreach (var link in answer.Path)
        {
            Console.WriteLine($"  {link.Kind,-9} {link.Id}{(link.Detail is null ? "" : $"  ({link.Detail})")}");
        }
        if (e.Action.Input is { } input)
        {
            Console.WriteLine($"  input     {(input.Length > 300 ? input[..300] + "…" : input)}");
        }
        Console.WriteLine($"  outcome   {WireNames.Of(e.Outcome.Status)}{(e.Outcome.Message is { } m ? " " + m : "")}");
        if (note.Length > 0)
        {
            Console.WriteLine($"  redaction {note}");
        }
    }

    /// <summary>What the plain answer shows, as fields: the shown (revealed) event's contents, the stored bytes' hashes.</summary>
    private static object ToJson(WhyAuthorizedAnswer found)
    {
        var (answer, shown) = (found.Proof, found.Shown);
        return new
        {
            answer.EventId, shown.Event.OccurredAt, answer.ArchivedMonth,
            Path = found.Path,
            shown.Event.Action.Input,
            Outcome = new { Status = WireNames.Of(shown.Event.Outcome.Status), shown.Event.Outcome.Message },
            Redaction = new { shown.Decrypted, shown.Shredded, shown.Hashed, shown.Unreadable, shown.Encrypted },
            Integrity = new
            {
                AgentId = answer.Event.Agent.Id, answer.Version, answer.GlobalSeq, answer.PrevHash, answer.Hash,
                Verified = answer.IntegrityVerified, answer.Problems,
            },
        };
    }

    private static string Describe(RevealedEvent r) => string.Join("; ", new[]
    {
        r.Decrypted.Count > 0 ? $"decrypted {string.Join(", ", r.Decrypted)}" : null,
        r.Shredded.Count > 0 ? $"SHREDDED {string.Join(", ", r.Shredded)} (the subject's key was destroyed)" : null,
        r.Hashed.Count > 0 ? $"keyed hashes {string.Join(", ", r.Hashed)}" : null,
        r.Unreadable.Count > 0 ? $"UNREADABLE {string.Join(", ", r.Unreadable)} (unknown key or altered ciphertext)" : null,
        r.Encrypted.Count > 0 ? $"encrypted fields shown as stored (no Redaction__MasterKeyFile here): {string.Join(", ", r.Encrypted)}" : null,
    }.Where(x => x is not null));
}
