using System.CommandLine;
using System.Globalization;
using AuditPipeline.Retention;
using static AuditPipeline.Cli.Retention.RetentionServices;

namespace AuditPipeline.Cli.Retention;

/// <summary>
/// <c>auditctl archive seal|list|verify|drop|purge</c> (docs/retention.md).
/// Exit codes: 0 done/verified, 1 refused or not verified, 2 could not run.
/// </summary>
internal static class ArchiveCommands
{
    private static readonly Option<string> ArchiveRoot = new("--archive") { Description = "The archive folder (object-store layout: index.json, segments/yyyy/MM)", Required = true };

    public static Command Create()
    {
        var command = new Command("archive", "Seal closed months into signed, verifiable archive segments, verify the archive, drop sealed months from the hot store");
        var month = new Option<string>("--month") { Description = "The month, yyyy-MM (UTC)", Required = true };
        var by = new Option<string>("--by") { Description = "Who does this (recorded in the retention log)", Required = true };
        var trusted = new Option<string?>("--trusted-key") { Description = "Public key (PEM file) every segment must be signed with" };
        command.Subcommands.Add(Seal(month, by));
        command.Subcommands.Add(List());
        command.Subcommands.Add(Verify(trusted));
        command.Subcommands.Add(Drop(month, by, trusted));
        command.Subcommands.Add(Purge(month, by));
        return command;
    }

    private static Command Seal(Option<string> month, Option<string> by)
    {
        var seal = new Command("seal", "Write a closed month as an archive segment (compressed events, proofs, signed checkpoint and manifest, chain anchors) and record it") { month, ArchiveRoot, by };
        seal.SetAction((parse, ct) => CliRun.Guarded("archive seal", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            using var signer = CliSettings.Integrity().LoadSigner();
            var sealedMonth = await CliProgress.RunAsync("archive seal", "events", knownTotal: true, progress =>
                Service(ds).SealAsync(ArchiveLayout.ParseMonth(parse.GetValue(month)!), new ArchiveLayout(parse.GetValue(ArchiveRoot)!),
                    Exporter(ds, signer), parse.GetValue(by)!, ct, progress));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"sealed {ArchiveLayout.MonthKey(sealedMonth.Month)}: {sealedMonth.Events} events in {sealedMonth.Segment}, manifest sha256 {sealedMonth.ManifestSha256}, proven against checkpoint {sealedMonth.CheckpointSize}"));
            return 0;
        }));
        return seal;
    }

    private static Command List()
    {
        var list = new Command("list", "Sealed months and whether they were dropped from the hot store") { JsonOutput.Flag };
        list.SetAction((parse, ct) => CliRun.Guarded("archive list", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            var months = await Service(ds).SealedAsync(ct);
            if (parse.GetValue(JsonOutput.Flag))
            {
                JsonOutput.Write(months.Select(s => new
                {
                    Month = ArchiveLayout.MonthKey(s.Month), s.Events, s.Segment, s.ManifestSha256, s.CheckpointSize, s.SealedAt, s.SealedBy, s.DroppedAt,
                }));
                return 0;
            }
            var table = new ListOutput("Month", "Events", "Segment", "Sealed", "By", "State");
            foreach (var s in months)
            {
                var state = s.DroppedAt is { } d ? $"dropped {d:yyyy-MM-dd}" : "hot";
                table.Add(string.Create(CultureInfo.InvariantCulture,
                        $"{ArchiveLayout.MonthKey(s.Month)}  {s.Events,10} events  {s.Segment}  sealed {s.SealedAt:yyyy-MM-dd} by {s.SealedBy}  {state}"),
                    ArchiveLayout.MonthKey(s.Month), s.Events.ToString(CultureInfo.InvariantCulture), s.Segment,
                    s.SealedAt.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), s.SealedBy, state);
            }
            table.Write();
            return 0;
        }));
        return list;
    }

    private static Command Verify(Option<string?> trusted)
    {
        var withStore = new Option<bool>("--with-store") { Description = "Also check that chains continue from the archive into the hot store (needs Store__ConnectionString)" };
        var verify = new Command("verify", "Verify every archive segment offline and the chains across segments (and, with --with-store, into the hot store)") { ArchiveRoot, trusted, withStore, JsonOutput.Flag };
        verify.SetAction((parse, ct) => CliRun.Guarded("archive verify", async () =>
        {
            var trustedPem = parse.GetValue(trusted) is { } file ? await File.ReadAllTextAsync(file, ct) : null;
            var report = await ArchiveVerifier.VerifyAsync(parse.GetValue(ArchiveRoot)!, trustedPem, ct: ct);
            if (parse.GetValue(withStore) && report.Ok)
            {
                await using var ds = CliSettings.AppDataSource();
                report.Problems.AddRange(await Service(ds).CheckCrossingAsync(report.ChainTails, ct));
            }
            if (parse.GetValue(JsonOutput.Flag))
            {
                JsonOutput.Write(new
                {
                    report.Ok, report.Segments, report.Purged, report.Events, ContinuousChains = report.ChainTails.Count,
                    IntoHotStore = parse.GetValue(withStore), report.Problems,
                });
                return report.Ok ? 0 : 1;
            }
            if (report.Ok)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"archive verify: OK, {report.Segments} segments, {report.Events} events, {report.ChainTails.Count} chains continuous{(parse.GetValue(withStore) ? " into the hot store" : "")}"));
                return 0;
            }
            Console.WriteLine($"archive verify: FAILED, {report.Problems.Count} problem(s):");
            report.Problems.ForEach(p => Console.WriteLine($"  {p}"));
            return 1;
        }));
        return verify;
    }

    private static Command Drop(Option<string> month, Option<string> by, Option<string?> trusted)
    {
        var drop = new Command("drop", "Drop a sealed month's partition from the hot store (schema owner; refused unless its segment verifies and no legal hold covers it)") { month, ArchiveRoot, by, trusted };
        drop.SetAction((parse, ct) => CliRun.Guarded("archive drop", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            await using var owner = CliSettings.AdminDataSource();
            var trustedPem = parse.GetValue(trusted) is { } file ? await File.ReadAllTextAsync(file, ct) : null;
            var target = ArchiveLayout.ParseMonth(parse.GetValue(month)!);
            await Service(ds).DropAsync(target, new ArchiveLayout(parse.GetValue(ArchiveRoot)!), owner, parse.GetValue(by)!, trustedPem, ct);
            Console.WriteLine($"dropped {ArchiveLayout.MonthKey(target)} from the hot store; it stays in the archive (recorded in the retention log)");
            return 0;
        }));
        return drop;
    }

    private static Command Purge(Option<string> month, Option<string> by)
    {
        var purge = new Command("purge", "Remove an expired month's event contents from the archive, keeping its chain hashes (refused under a legal hold or before the retention period ends)") { month, ArchiveRoot, by };
        purge.SetAction((parse, ct) => CliRun.Guarded("archive purge", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            var target = ArchiveLayout.ParseMonth(parse.GetValue(month)!);
            await Service(ds).PurgeAsync(target, new ArchiveLayout(parse.GetValue(ArchiveRoot)!), CliSettings.Retention(), parse.GetValue(by)!, ct);
            Console.WriteLine($"purged {ArchiveLayout.MonthKey(target)}: its event contents are gone; its chain hashes, proof and signed manifest stay, so the archive still verifies");
            return 0;
        }));
        return purge;
    }
}
