using System.CommandLine;
using AuditPipeline.Retention;
using static AuditPipeline.Cli.Retention.RetentionServices;

namespace AuditPipeline.Cli.Retention;

/// <summary><c>auditctl retention run</c>: the scheduled job (a nightly cron or CronJob) that applies the retention policy.</summary>
internal static class RetentionCommand
{
    public static Command Create()
    {
        var command = new Command("retention", "Apply the retention policy (Retention:HotMonths, Retention:Years)");
        var by = new Option<string>("--by") { Description = "Who runs it (recorded in the retention log)", DefaultValueFactory = _ => "retention job" };
        var archive = new Option<string?>("--archive") { Description = "The archive folder (default Retention:ArchiveDirectory)" };
        var run = new Command("run", "Seal every closed month, drop sealed months before the hot window, purge archived months past the retention period; legal holds win") { archive, by };
        run.SetAction((parse, ct) => CliRun.Guarded("retention run", async () =>
        {
            var policy = CliSettings.Retention();
            var root = parse.GetValue(archive) ?? policy.ArchiveDirectory
                ?? throw new ArgumentException("give --archive or set Retention__ArchiveDirectory");
            await using var ds = CliSettings.AppDataSource();
            await using var owner = CliSettings.AdminDataSource();
            using var signer = CliSettings.Integrity().LoadSigner();
            var report = await Service(ds).RunPolicyAsync(policy, new ArchiveLayout(root), Exporter(ds, signer), owner, parse.GetValue(by)!, ct);
            Console.WriteLine($"retention run (hot {policy.HotMonths} months, kept {policy.Years} years): sealed [{string.Join(", ", report.Sealed)}], dropped [{string.Join(", ", report.Dropped)}], purged [{string.Join(", ", report.Purged)}]");
            report.Kept.ForEach(k => Console.WriteLine($"  kept: {k}"));
            return 0;
        }));
        command.Subcommands.Add(run);
        return command;
    }
}
