using System.CommandLine;
using AuditPipeline.Core.Store;

namespace AuditPipeline.Cli.Commands;

internal static class WhyCommand
{
    public static Command Create()
    {
        var eventId = new Argument<Guid?>("event-id") { Description = "The action's event id", Arity = ArgumentArity.ZeroOrOne };
        var latestApproved = new Option<bool>("--latest-approved") { Description = "Explain the most recent action that needed an approval" };
        var command = new Command("why", "Why was this action authorized? The path from the human to the decision, with integrity") { eventId, latestApproved };
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
}
