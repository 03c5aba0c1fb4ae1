using System.CommandLine;
using System.Globalization;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity.Store;
using AuditPipeline.Retention;

namespace AuditPipeline.Cli.Integrity;

/// <summary><c>auditctl verify</c>: every hash chain recomputed. Exit 0 intact, 1 broken, 2 could not verify.</summary>
internal static class VerifyCommand
{
    public static Command Create()
    {
        var agent = new Option<string?>("--agent") { Description = "Verify only this agent's chain" };
        var from = new Option<DateTimeOffset?>("--from") { Description = "Only events recorded at or after this time (RFC 3339)" };
        var to = new Option<DateTimeOffset?>("--to") { Description = "Only events recorded before this time (RFC 3339)" };
        var archive = new Option<string?>("--archive") { Description = "Also verify the archive (sealed months) and chains that continue from it into the store" };
        var command = new Command("verify",
            "Recompute every hash chain. Exit 0: intact; 1: broken (the first broken event of each agent is named); 2: could not verify")
        {
            agent, from, to, archive, JsonOutput.Flag,
        };
        command.SetAction((parse, ct) => CliRun.Guarded("verify", async () =>
        {
            var json = parse.GetValue(JsonOutput.Flag);
            await using var dataSource = CliSettings.AppDataSource();
            var scope = new VerifyScope(parse.GetValue(agent), parse.GetValue(from), parse.GetValue(to));
            IReadOnlyDictionary<string, Dictionary<long, byte[]>>? tails = null;
            ArchiveReport? archived = null;
            if (parse.GetValue(archive) is { } root)
            {
                archived = await ArchiveVerifier.VerifyAsync(root, ct: ct);
                if (archived.Ok)
                {
                    archived.Problems.AddRange(await new RetentionService(dataSource, new PostgresEventStore(dataSource, TimeProvider.System), TimeProvider.System)
                        .CheckCrossingAsync(archived.ChainTails, ct));
                }
                if (!archived.Ok)
                {
                    if (json)
                    {
                        JsonOutput.Write(new { Intact = false, Archive = Describe(archived), EventsChecked = 0, StreamsChecked = 0, Breaks = Array.Empty<ChainBreak>() });
                        return 1;
                    }
                    Console.WriteLine($"verify: BROKEN, the archive fails ({archived.Problems.Count} problem(s)):");
                    archived.Problems.ForEach(p => Console.WriteLine($"  {p}"));
                    return 1;
                }
                if (!json)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"archive: OK, {archived.Segments} sealed months, {archived.Events} events, {archived.ChainTails.Count} chains continue into the store"));
                }
                tails = archived.SegmentEnds;
            }
            var report = await CliProgress.RunAsync("verify", "events checked", knownTotal: false,
                progress => new ChainVerifier(dataSource).VerifyAsync(scope, ct, tails, progress));
            if (json)
            {
                JsonOutput.Write(new { report.Intact, Archive = archived is null ? null : Describe(archived), report.EventsChecked, report.StreamsChecked, report.Breaks });
                return report.Intact ? 0 : 1;
            }
            if (report.Intact)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"verify: OK, {report.EventsChecked} events in {report.StreamsChecked} agent chains intact"));
                return 0;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"verify: BROKEN, {report.Breaks.Count} agent chain(s) fail ({report.EventsChecked} events checked)"));
            foreach (var b in report.Breaks)
            {
                Console.WriteLine($"  first break: {b}");
            }
            return 1;
        }));
        return command;
    }

    private static object Describe(ArchiveReport archived) =>
        new { archived.Ok, archived.Segments, archived.Events, ChainsIntoStore = archived.ChainTails.Count, archived.Problems };
}
