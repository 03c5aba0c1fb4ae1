using System.CommandLine;
using System.Globalization;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity.Store;

namespace AuditPipeline.Cli.Commands;

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
            agent, from, to, archive,
        };
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                await using var dataSource = CliSettings.AppDataSource();
                var scope = new VerifyScope(parse.GetValue(agent), parse.GetValue(from), parse.GetValue(to));
                IReadOnlyDictionary<string, Dictionary<long, byte[]>>? tails = null;
                if (parse.GetValue(archive) is { } root)
                {
                    var archived = await AuditPipeline.Retention.ArchiveVerifier.VerifyAsync(root, ct: ct);
                    if (archived.Ok)
                    {
                        archived.Problems.AddRange(await new AuditPipeline.Retention.RetentionService(dataSource, new PostgresEventStore(dataSource, TimeProvider.System), TimeProvider.System)
                            .CheckCrossingAsync(archived.ChainTails, ct));
                    }
                    if (!archived.Ok)
                    {
                        Console.WriteLine($"verify: BROKEN, the archive fails ({archived.Problems.Count} problem(s)):");
                        archived.Problems.ForEach(p => Console.WriteLine($"  {p}"));
                        return 1;
                    }
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"archive: OK, {archived.Segments} sealed months, {archived.Events} events, {archived.ChainTails.Count} chains continue into the store"));
                    tails = archived.SegmentEnds;
                }
                var report = await new ChainVerifier(dataSource).VerifyAsync(scope, ct, tails);
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
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Console.Error.WriteLine($"verify: could not verify: {ex.Message}");
                return 2;
            }
        });
        return command;
    }
}
