using System.CommandLine;
using System.Globalization;
using static AuditPipeline.Cli.Retention.RetentionServices;

namespace AuditPipeline.Cli.Retention;

/// <summary><c>auditctl hold create|release|list</c>: legal holds (docs/retention.md).</summary>
internal static class HoldCommands
{
    public static Command Create()
    {
        var command = new Command("hold", "Legal holds: events they cover are never dropped (recorded in the retention log)");
        var agent = new Option<string?>("--agent") { Description = "Hold this agent's events" };
        var owner = new Option<string?>("--owner") { Description = "Hold the events of this owner's agents" };
        var from = new Option<DateTimeOffset?>("--from") { Description = "Hold events recorded at or after (RFC 3339)" };
        var to = new Option<DateTimeOffset?>("--to") { Description = "Hold events recorded before (RFC 3339)" };
        var reason = new Option<string>("--reason") { Description = "The matter the hold is for", Required = true };
        var by = new Option<string>("--by") { Description = "Who creates or releases it", Required = true };

        var create = new Command("create", "Create a legal hold") { agent, owner, from, to, reason, by };
        create.SetAction((parse, ct) => CliRun.Guarded("hold create", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            var hold = await Service(ds).CreateHoldAsync(parse.GetValue(agent), parse.GetValue(owner), parse.GetValue(from), parse.GetValue(to),
                parse.GetValue(reason)!, parse.GetValue(by)!, ct);
            Console.WriteLine($"hold {hold.Id}: {hold.Describe()} ({hold.Reason})");
            return 0;
        }));
        var id = new Argument<Guid>("hold-id");
        var release = new Command("release", "Release a legal hold") { id, reason, by };
        release.SetAction((parse, ct) => CliRun.Guarded("hold release", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            await Service(ds).ReleaseHoldAsync(parse.GetValue(id), parse.GetValue(reason)!, parse.GetValue(by)!, ct);
            Console.WriteLine($"released hold {parse.GetValue(id)}");
            return 0;
        }));
        var list = new Command("list", "Active legal holds") { JsonOutput.Flag };
        list.SetAction((parse, ct) => CliRun.Guarded("hold list", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            var holds = await Service(ds).HoldsAsync(ct);
            if (parse.GetValue(JsonOutput.Flag))
            {
                JsonOutput.Write(holds.Select(h => new { h.Id, h.Agent, h.Owner, h.From, h.To, Covers = h.Describe(), h.Reason, h.CreatedBy, h.CreatedAt }));
                return 0;
            }
            var table = new ListOutput("Id", "Covers", "Reason", "By", "Created");
            foreach (var h in holds)
            {
                table.Add($"{h.Id}  {h.Describe()}  reason: {h.Reason}  by {h.CreatedBy} {h.CreatedAt:yyyy-MM-dd}",
                    h.Id.ToString(), h.Describe(), h.Reason, h.CreatedBy, h.CreatedAt.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            }
            table.Write();
            return 0;
        }));
        command.Subcommands.Add(create);
        command.Subcommands.Add(release);
        command.Subcommands.Add(list);
        return command;
    }
}
