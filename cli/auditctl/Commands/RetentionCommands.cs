using System.CommandLine;
using System.Globalization;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity.Store;
using AuditPipeline.Retention;

namespace AuditPipeline.Cli.Commands;

/// <summary>
/// <c>auditctl archive seal|list|verify|drop</c> and <c>auditctl hold create|release|list</c>
/// (docs/retention.md). Exit codes: 0 done/verified, 1 refused or not verified, 2 could not run.
/// </summary>
internal static class RetentionCommands
{
    private static readonly Option<string> ArchiveRoot = new("--archive") { Description = "The archive folder (object-store layout: index.json, segments/yyyy/MM)", Required = true };

    public static Command CreateArchive()
    {
        var command = new Command("archive", "Seal closed months into signed, verifiable archive segments, verify the archive, drop sealed months from the hot store");
        var month = new Option<string>("--month") { Description = "The month, yyyy-MM (UTC)", Required = true };
        var by = new Option<string>("--by") { Description = "Who does this (recorded in the retention log)", Required = true };

        var seal = new Command("seal", "Write a closed month as an archive segment (compressed events, proofs, signed checkpoint and manifest, chain anchors) and record it") { month, ArchiveRoot, by };
        seal.SetAction((parse, ct) => CliRun.Guarded("archive seal", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            var integrity = CliSettings.Integrity();
            using var signer = integrity.LoadSigner();
            var sealedMonth = await Service(ds).SealAsync(ArchiveLayout.ParseMonth(parse.GetValue(month)!), new ArchiveLayout(parse.GetValue(ArchiveRoot)!),
                new BundleExporter(ds, new CheckpointService(ds, signer, [], earlierKeys: CliSettings.Integrity().LoadTrustedKeys(signer)), signer), parse.GetValue(by)!, ct);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"sealed {ArchiveLayout.MonthKey(sealedMonth.Month)}: {sealedMonth.Events} events in {sealedMonth.Segment}, manifest sha256 {sealedMonth.ManifestSha256}, proven against checkpoint {sealedMonth.CheckpointSize}"));
            return 0;
        }));

        var list = new Command("list", "Sealed months and whether they were dropped from the hot store");
        list.SetAction((_, ct) => CliRun.Guarded("archive list", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            foreach (var s in await Service(ds).SealedAsync(ct))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{ArchiveLayout.MonthKey(s.Month)}  {s.Events,10} events  {s.Segment}  sealed {s.SealedAt:yyyy-MM-dd} by {s.SealedBy}  {(s.DroppedAt is { } d ? $"dropped {d:yyyy-MM-dd}" : "hot")}"));
            }
            return 0;
        }));

        var trusted = new Option<string?>("--trusted-key") { Description = "Public key (PEM file) every segment must be signed with" };
        var withStore = new Option<bool>("--with-store") { Description = "Also check that chains continue from the archive into the hot store (needs Store__ConnectionString)" };
        var verify = new Command("verify", "Verify every archive segment offline and the chains across segments (and, with --with-store, into the hot store)") { ArchiveRoot, trusted, withStore };
        verify.SetAction((parse, ct) => CliRun.Guarded("archive verify", async () =>
        {
            var trustedPem = parse.GetValue(trusted) is { } file ? await File.ReadAllTextAsync(file, ct) : null;
            var report = await ArchiveVerifier.VerifyAsync(parse.GetValue(ArchiveRoot)!, trustedPem, ct: ct);
            if (parse.GetValue(withStore) && report.Ok)
            {
                await using var ds = CliSettings.AppDataSource();
                report.Problems.AddRange(await Service(ds).CheckCrossingAsync(report.ChainTails, ct));
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

        var purge = new Command("purge", "Remove an expired month's event contents from the archive, keeping its chain hashes (refused under a legal hold or before the retention period ends)") { month, ArchiveRoot, by };
        purge.SetAction((parse, ct) => CliRun.Guarded("archive purge", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            var target = ArchiveLayout.ParseMonth(parse.GetValue(month)!);
            await Service(ds).PurgeAsync(target, new ArchiveLayout(parse.GetValue(ArchiveRoot)!), CliSettings.Retention(), parse.GetValue(by)!, ct);
            Console.WriteLine($"purged {ArchiveLayout.MonthKey(target)}: its event contents are gone; its chain hashes, proof and signed manifest stay, so the archive still verifies");
            return 0;
        }));

        command.Subcommands.Add(seal);
        command.Subcommands.Add(list);
        command.Subcommands.Add(verify);
        command.Subcommands.Add(drop);
        command.Subcommands.Add(purge);
        return command;
    }

    /// <summary><c>auditctl retention run</c>: the scheduled job (a nightly cron or CronJob) that applies the retention policy.</summary>
    public static Command CreateRetention()
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
            var report = await Service(ds).RunPolicyAsync(policy, new ArchiveLayout(root), new BundleExporter(ds, new CheckpointService(ds, signer, [], earlierKeys: CliSettings.Integrity().LoadTrustedKeys(signer)), signer), owner,
                parse.GetValue(by)!, ct);
            Console.WriteLine($"retention run (hot {policy.HotMonths} months, kept {policy.Years} years): sealed [{string.Join(", ", report.Sealed)}], dropped [{string.Join(", ", report.Dropped)}], purged [{string.Join(", ", report.Purged)}]");
            report.Kept.ForEach(k => Console.WriteLine($"  kept: {k}"));
            return 0;
        }));
        command.Subcommands.Add(run);
        return command;
    }

    public static Command CreateHold()
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
        var list = new Command("list", "Active legal holds");
        list.SetAction((_, ct) => CliRun.Guarded("hold list", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            foreach (var h in await Service(ds).HoldsAsync(ct))
            {
                Console.WriteLine($"{h.Id}  {h.Describe()}  reason: {h.Reason}  by {h.CreatedBy} {h.CreatedAt:yyyy-MM-dd}");
            }
            return 0;
        }));
        command.Subcommands.Add(create);
        command.Subcommands.Add(release);
        command.Subcommands.Add(list);
        return command;
    }

    private static RetentionService Service(Npgsql.NpgsqlDataSource ds) => new(ds, new PostgresEventStore(ds, TimeProvider.System), TimeProvider.System);
}
