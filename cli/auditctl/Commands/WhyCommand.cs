using System.CommandLine;
using AuditPipeline.Core.Store;

namespace AuditPipeline.Cli.Commands;

internal static class WhyCommand
{
    public static Command Create()
    {
        var eventId = new Argument<Guid?>("event-id") { Description = "The action's event id", Arity = ArgumentArity.ZeroOrOne };
        var latestApproved = new Option<bool>("--latest-approved") { Description = "Explain the most recent action that needed an approval" };
        var archive = new Option<string?>("--archive") { Description = "Look in the archive too (actions of months dropped from the hot store)" };
        var command = new Command("why", "Why was this action authorized? The path from the human to the decision, with integrity") { eventId, latestApproved, archive };
        command.SetAction(async (parse, ct) =>
        {
            await using var dataSource = CliSettings.AppDataSource();
            var id = parse.GetValue(eventId);
            if (id is null && parse.GetValue(latestApproved))
            {
                await using var pick = dataSource.CreateCommand(SqlScripts.Query("latest_approved_action"));
                id = await pick.ExecuteScalarAsync(ct) as Guid?;
            }
            if (id is null)
            {
                Console.Error.WriteLine("give an event id (or --latest-approved)");
                return 2;
            }
            var answer = await new WhyAuthorizedQuery(dataSource).FindAsync(id.Value, ct);
            // Only when the hot store no longer holds the event (its month was dropped): a changed
            // hot event must be reported as such, not explained from its archived copy.
            if (answer is null or { StoredInHotStore: false } && parse.GetValue(archive) is { } root && new AuditPipeline.Core.Retention.ArchiveLayout(root).FindEvent(id.Value) is { } found)
            {
                return ExplainArchived(found.Month, found.Line);
            }
            if (answer is null)
            {
                Console.Error.WriteLine($"no action with event id {id} in the authorization index (not stored, or not projected yet)");
                return 1;
            }
            Console.WriteLine($"event {answer.EventId} at {answer.Event.OccurredAt:O}");
            foreach (var link in answer.Path)
            {
                Console.WriteLine($"  {link.Kind,-9} {link.Id}{(link.Detail is null ? "" : $"  ({link.Detail})")}");
            }
            Console.WriteLine($"  integrity agent {answer.Event.Agent.Id} version {answer.Version}, log position {answer.GlobalSeq}");
            Console.WriteLine($"            prev_hash {answer.PrevHash}");
            Console.WriteLine($"            hash      {answer.Hash}");
            Console.WriteLine($"            {(answer.IntegrityVerified ? "verified: the hash matches the stored event and links to the previous one" : "NOT VERIFIED: the stored event does not match its hash or chain (run auditctl verify)")}");
            return answer.IntegrityVerified ? 0 : 3;
        });
        return command;
        }

    /// <summary>An action found in an archive segment: the same path, and its chain hash recomputed from the archived line.</summary>
    private static int ExplainArchived(string month, System.Text.Json.JsonElement line)
    {
        var payload = System.Text.Encoding.UTF8.GetBytes(line.GetProperty("event").GetRawText());
        var e = AuditPipeline.Core.Contract.ContractJson.Deserialize(payload);
        Console.WriteLine($"event {e.EventId} at {e.OccurredAt:O} (archived: sealed month {month})");
        foreach (var link in WhyAuthorizedQuery.PathOf(e))
        {
            Console.WriteLine($"  {link.Kind,-9} {link.Id}{(link.Detail is null ? "" : $"  ({link.Detail})")}");
        }
        // The stored bytes are what was hashed; GetRawText returns them as written in the segment.
        var hash = ChainHash.Compute(Convert.FromHexString(line.GetProperty("prevHash").GetString()!), line.GetProperty("stream").GetString()!,
            line.GetProperty("version").GetInt64(), line.GetProperty("eventId").GetGuid(), line.GetProperty("eventType").GetString()!,
            DateTimeOffset.Parse(line.GetProperty("recordedAt").GetString()!, System.Globalization.CultureInfo.InvariantCulture), payload);
        var verified = Convert.ToHexStringLower(hash) == line.GetProperty("hash").GetString();
        Console.WriteLine($"  integrity version {line.GetProperty("version").GetInt64()}, log position {line.GetProperty("position").GetInt64()}, hash {line.GetProperty("hash").GetString()}");
        Console.WriteLine(verified
            ? "  verified: the archived event matches its chain hash (auditctl archive verify proves the segment and its checkpoint)"
            : "  NOT VERIFIED: the archived event does not match its chain hash");
        return verified ? 0 : 3;
    }
}
