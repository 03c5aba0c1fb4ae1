using System.CommandLine;
using System.Globalization;
using AuditPipeline.Access;
using AuditPipeline.EventStore;

namespace AuditPipeline.Cli.Agents;

/// <summary>
/// <c>auditctl agents scope show|set</c>: an agent's pinned team and owner (which decide what scoped
/// keys see and which legal holds apply). Its first action pins them; only this command (as the
/// operations role) changes them, and every change is an agent-scope.v1 event with who and why.
/// </summary>
internal static class AgentCommands
{
    public static Command Create()
    {
        var agent = new Argument<string>("agent-id") { Description = "The agent's id" };
        var show = new Command("show", "The agent's pinned team and owner, and the log position that set them") { agent, JsonOutput.Flag };
        show.SetAction((parse, ct) => CliRun.Guarded("agents scope show", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            if (await new AgentScopeStore(ds).FindAsync(parse.GetValue(agent)!, ct) is not { } s)
            {
                Console.Error.WriteLine($"no agent '{parse.GetValue(agent)}' has acted yet");
                return 1;
            }
            if (parse.GetValue(JsonOutput.Flag))
            {
                JsonOutput.Write(new { s.AgentId, s.Team, s.Owner, s.PinnedAt, PinnedByPosition = s.PinnedBy });
                return 0;
            }
            var table = new ListOutput("Agent", "Team", "Owner", "Pinned (UTC)", "By log position");
            var pinnedAt = s.PinnedAt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
            table.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{s.AgentId}  team={s.Team ?? "(none)"}  owner={s.Owner ?? "(none)"}  pinned {pinnedAt} by log position {s.PinnedBy}"),
                s.AgentId, s.Team ?? "(none)", s.Owner ?? "(none)", pinnedAt, s.PinnedBy.ToString(CultureInfo.InvariantCulture));
            table.Write();
            return 0;
        }));

        var team = new Option<string?>("--team") { Description = "The new team (omit for none)" };
        var owner = new Option<string?>("--owner") { Description = "The new accountable owner (omit for none)" };
        var by = new Option<string>("--by") { Description = "Who makes the change (recorded)", Required = true };
        var reason = new Option<string>("--reason") { Description = "Why (recorded), e.g. a ticket", Required = true };
        var set = new Command("set", "Move the agent to another team and owner; recorded as an agent-scope.v1 event") { agent, team, owner, by, reason };
        set.SetAction((parse, ct) => CliRun.Guarded("agents scope set", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            var change = await new AgentScopeStore(ds).ChangeAsync(new PostgresEventStore(ds, TimeProvider.System), parse.GetValue(agent)!,
                parse.GetValue(team), parse.GetValue(owner), parse.GetValue(by)!, parse.GetValue(reason)!, TimeProvider.System, ct);
            Console.WriteLine($"{change.AgentId}: team {change.PreviousTeam ?? "(none)"} -> {change.Team ?? "(none)"}, owner {change.PreviousOwner ?? "(none)"} -> {change.Owner ?? "(none)"} (event {change.EventId})");
            return 0;
        }));
        return new Command("agents", "Agents as the store knows them") { new Command("scope", "An agent's pinned team and owner") { show, set } };
    }
}
