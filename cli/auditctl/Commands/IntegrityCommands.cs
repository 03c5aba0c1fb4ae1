using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AuditPipeline.Integrity;
using AuditPipeline.Integrity.Evidence;
using AuditPipeline.Integrity.Store;

namespace AuditPipeline.Cli.Commands;

/// <summary>
/// <c>auditctl checkpoint …</c>, <c>proof …</c>, <c>export</c> and <c>verify-bundle</c>: signed
/// checkpoints, Merkle proofs and SOX evidence bundles (docs/integrity.md).
/// Exit codes: 0 ok, 1 verification failed, 2 could not run (bad input, missing setting).
/// </summary>
internal static class IntegrityCommands
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static Command CreateCheckpoint()
    {
        var command = new Command("checkpoint", "Signed checkpoints (Merkle tree heads over the whole log)");
        command.Subcommands.Add(Sign());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Show());
        command.Subcommands.Add(VerifyStore());
        command.Subcommands.Add(Keygen());
        return command;
    }

    private static Command Sign()
    {
        var size = new Option<long?>("--size") { Description = "Log size to sign (default: the whole log now)" };
        var command = new Command("create", "Sign a checkpoint now (needs Integrity__SigningKeyFile); it is stored, written to the checkpoint directory and published") { size };
        command.SetAction((parse, ct) => CliRun.Guarded("checkpoint create", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            var integrity = CliSettings.Integrity();
            using var signer = integrity.LoadSigner();
            var sinks = CheckpointService.SinksFrom(integrity, CliSettings.Kafka());
            try
            {
                var checkpoint = await new CheckpointService(ds, signer, sinks, earlierKeys: CliSettings.Integrity().LoadTrustedKeys(signer)).CreateAsync(parse.GetValue(size), "auditctl", ct);
                Console.WriteLine(JsonSerializer.Serialize(checkpoint with { PublicKeyPem = null }, Json));
            }
            finally
            {
                DisposeAll(sinks);
            }
            return 0;
        }));
        return command;
    }

    private static Command List()
    {
        var limit = new Option<int>("--limit") { Description = "How many, newest first", DefaultValueFactory = _ => 20 };
        var command = new Command("list", "Stored checkpoints, newest first") { limit };
        command.SetAction((parse, ct) => CliRun.Guarded("checkpoint list", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            foreach (var c in await new CheckpointLog(ds).ListAsync(long.MaxValue, Math.Clamp(parse.GetValue(limit), 1, 10_000), ct))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{c.Size,12}  {c.At:yyyy-MM-dd HH:mm:ss}Z  key {c.KeyId}  root {c.RootHash}"));
            }
            return 0;
        }));
        return command;
    }

    private static Command Show()
    {
        var which = new Argument<string>("size") { Description = "A log size, or 'latest'" };
        var command = new Command("show", "One checkpoint as its portable JSON document (with the public key)") { which };
        command.SetAction((parse, ct) => CliRun.Guarded("checkpoint show", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            var log = new CheckpointLog(ds);
            var arg = parse.GetValue(which)!;
            Checkpoint? checkpoint = arg == "latest" ? await log.LatestAsync(ct)
                : long.TryParse(arg, NumberStyles.None, CultureInfo.InvariantCulture, out var size) ? await log.BySizeAsync(size, ct)
                : throw new ArgumentException("size must be a non-negative integer or 'latest'");
            if (checkpoint is null)
            {
                Console.Error.WriteLine($"no checkpoint {arg}");
                return 1;
            }
            Console.WriteLine(JsonSerializer.Serialize(CheckpointDocument.From(checkpoint, (await log.PublicKeysAsync(ct)).GetValueOrDefault(checkpoint.KeyId)), Json));
            return 0;
        }));
        return command;
    }

    private static Command VerifyStore()
    {
        var dir = new Option<string?>("--dir") { Description = "Check the checkpoint files in this folder (copies kept off the database host) instead of the stored ones" };
        var trusted = TrustedKeyOption("every checkpoint must be signed with one of them (repeat for rotated keys)");
        var selfSigned = AcceptSelfSignedOption("the keys in the --dir folder's keys/ or in audit.signing_keys");
        var archive = new Option<string?>("--archive") { Description = "Read months dropped from the hot store from this archive" };
        var command = new Command("verify",
            "Recompute the Merkle root of the log from the events and compare it with every signed checkpoint: catches edits made with database rights, even re-chained ones. Exit 1 on a mismatch")
        {
            dir, trusted, selfSigned, archive,
        };
        command.SetAction((parse, ct) => CliRun.Guarded("checkpoint verify", async () =>
        {
            var folder = parse.GetValue(dir);
            var keyPaths = parse.GetValue(trusted) ?? [];
            if (Unpinned("checkpoint verify", keyPaths, parse.GetValue(selfSigned)) is { } exit)
            {
                return exit;
            }
            if (folder is not null && keyPaths.FirstOrDefault(p => IsInside(p, folder)) is { } inside)
            {
                throw new ArgumentException($"--trusted-key {inside} is inside the folder being checked: whoever can write checkpoints there can write keys there too");
            }
            var pinned = keyPaths.Length > 0 ? TrustedKeys.Load(keyPaths) : null;
            await using var ds = CliSettings.AppDataSource();
            List<Checkpoint> checkpoints;
            Dictionary<string, string> shippedKeys;
            if (folder is not null)
            {
                var (docs, dirKeys) = DirectoryCheckpointSink.Read(folder);
                checkpoints = docs.Select(d => d.ToCheckpoint()).ToList();
                shippedKeys = dirKeys;
            }
            else
            {
                var log = new CheckpointLog(ds);
                checkpoints = await log.ListAsync(long.MaxValue, int.MaxValue, ct);
                // Read only when accepted: anyone who can write the database can insert a key there.
                shippedKeys = pinned is null ? await log.PublicKeysAsync(ct) : [];
            }
            if (checkpoints.Count == 0)
            {
                Console.Error.WriteLine("no checkpoints to verify against");
                return 2;
            }
            var keys = pinned ?? TrustedKeys.SelfSigned(shippedKeys);
            var archiveLayout = parse.GetValue(archive) is { } root ? new AuditPipeline.Retention.ArchiveLayout(root) : null;
            var result = await new CheckpointVerifier(ds).VerifyAsync(checkpoints, keys, null, ct, archiveLayout?.ReadLeaves());
            foreach (var c in result.Checks)
            {
                var state = c.SignatureProblem is { } p ? $"BAD SIGNATURE ({p})"
                    : c.ComputedRoot is null ? "MISSING: the log is shorter than this checkpoint (its tail was removed)"
                    : c.RootMatches ? "OK" : $"MISMATCH: the log's first {c.Checkpoint.Size} events give root {c.ComputedRoot}, not the signed root (events were changed after it was signed)";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"checkpoint {c.Checkpoint.Size} signed {c.Checkpoint.At:yyyy-MM-dd HH:mm:ss}Z by {c.Checkpoint.KeyId}: {state}"));
            }
            if (result.FirstChangedBlock is { } block)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"first change: log positions {block.FirstPosition}..{block.LastPosition} differ from the tree recorded when they were appended"));
            }
            var signedBy = pinned is not null
                ? $"signed by trusted keys ({string.Join(", ", keys.KeyIds)})"
                : $"{SelfSignedWarning}: signatures checked only against {(folder is null ? "audit.signing_keys" : $"{folder}/keys")}, which whoever can write there controls";
            Console.WriteLine(result.Ok
                ? string.Create(CultureInfo.InvariantCulture, $"checkpoint verify: OK, {result.Checks.Count} checkpoints match the {result.LeavesRead} events they cover, {signedBy}")
                : $"checkpoint verify: FAILED, {result.Checks.Count(c => !c.RootMatches || c.SignatureProblem is not null)} of {result.Checks.Count} checkpoints do not match the store");
            return result.Ok ? 0 : 1;
        }));
        return command;
    }

    private const string SelfSignedWarning = "SELF-SIGNED, NOT PINNED (--accept-self-signed)";

    private static Option<string[]> TrustedKeyOption(string what) => new("--trusted-key")
    {
        Description = $"Public key (PEM file, or a folder of *.pem files) you trust, from your organisation, never from the data being checked; {what}",
        AllowMultipleArgumentsPerToken = false,
    };

    private static Option<bool> AcceptSelfSignedOption(string shipped) => new("--accept-self-signed")
    {
        Description = $"Without --trusted-key: accept signatures checked only against {shipped}. Proves the data is consistent with itself, not who signed it (anyone can make such data with their own key)",
    };

    /// <summary>Fail closed: no trusted key and no explicit acceptance is exit 2 with what to do; both at once is a contradiction.</summary>
    private static int? Unpinned(string name, string[] keyPaths, bool acceptSelfSigned)
    {
        if (keyPaths.Length > 0 && acceptSelfSigned)
        {
            Console.Error.WriteLine($"{name}: --trusted-key and --accept-self-signed contradict each other; give one");
            return 2;
        }
        if (keyPaths.Length == 0 && !acceptSelfSigned)
        {
            Console.Error.WriteLine($"{name}: nothing was pinned: pass --trusted-key <public key PEM> (your organisation's published checkpoint key; repeatable), "
                + "or --accept-self-signed to check the signatures only against keys that came with the data (anyone can sign such data with their own key)");
            return 2;
        }
        return null;
    }

    private static bool IsInside(string path, string folder)
    {
        var relative = Path.GetRelativePath(Path.GetFullPath(folder), Path.GetFullPath(path));
        return relative == "." || (!relative.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(relative));
    }

    private static Command Keygen()
    {
        var output = new Option<string>("--out") { Description = "Where to write the private key (PEM, mode 600); refused if it exists", Required = true };
        var command = new Command("keygen", "Make a new ECDSA P-256 checkpoint signing key; prints its key id and public key") { output };
        command.SetAction((parse, _) => CliRun.Guarded("checkpoint keygen", () =>
        {
            var path = parse.GetValue(output)!;
            using var signer = CheckpointSigner.Generate();
            CliRun.WriteNewSecretFile(path, signer.ExportPrivateKeyPem(), "a signing key");
            Console.Error.WriteLine($"wrote the private key to {path} (keep it secret; set Integrity__SigningKeyFile to it)");
            Console.WriteLine($"key id {signer.KeyId}");
            Console.WriteLine(signer.PublicKeyPem);
            return Task.FromResult(0);
        }));
        return command;
    }

    /// <summary>The keys proofs are checked against: those given, else the configured trusted keys and signing key; null: none.</summary>
    private static TrustedKeys? ProofTrust(string[]? given)
    {
        if (given is { Length: > 0 })
        {
            return TrustedKeys.Load(given);
        }
        var integrity = CliSettings.Integrity();
        using var signer = integrity.HasSigningKey ? integrity.LoadSigner() : null;
        return integrity.LoadTrustedKeys(signer);
    }

    public static Command CreateProof()
    {
        var command = new Command("proof", "RFC 9162 Merkle proofs against signed checkpoints (verified before they are printed)");
        var eventId = new Argument<Guid>("event-id") { Description = "The event to prove" };
        var size = new Option<long?>("--checkpoint") { Description = "Log size of the checkpoint to prove against (default: the latest)" };
        var trusted = new Option<string[]>("--trusted-key") { Description = "Public key (PEM file or folder) checkpoints must be signed with; repeatable; default: Integrity:TrustedKeyFiles and the configured signing key's public half" };
        var inclusion = new Command("inclusion", "Inclusion proof of an event in a checkpoint") { eventId, size, trusted };
        inclusion.SetAction((parse, ct) => CliRun.Guarded("proof inclusion", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            var proof = await new ProofService(ds, ProofTrust(parse.GetValue(trusted))).InclusionAsync(parse.GetValue(eventId), parse.GetValue(size), ct);
            Console.WriteLine(JsonSerializer.Serialize(proof with { Checkpoint = proof.Checkpoint with { PublicKeyPem = null } }, Json));
            return proof.Verified ? 0 : 1;
        }));
        var from = new Argument<long>("old-size") { Description = "The earlier log size" };
        var to = new Argument<long>("new-size") { Description = "The later log size" };
        var consistency = new Command("consistency", "Consistency proof: the log at old-size is a prefix of the log at new-size") { from, to, trusted };
        consistency.SetAction((parse, ct) => CliRun.Guarded("proof consistency", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            var proof = await new ProofService(ds, ProofTrust(parse.GetValue(trusted))).ConsistencyAsync(parse.GetValue(from), parse.GetValue(to), ct);
            Console.WriteLine(JsonSerializer.Serialize(proof with { OldCheckpoint = null, NewCheckpoint = null }, Json));
            Console.Error.WriteLine($"signed: old {(proof.OldCheckpoint is null ? "no (root computed now)" : "yes")}, new {(proof.NewCheckpoint is null ? "no (root computed now)" : "yes")}");
            return proof.Verified ? 0 : 1;
        }));
        command.Subcommands.Add(inclusion);
        command.Subcommands.Add(consistency);
        return command;
    }

    public static Command CreateExport()
    {
        var from = new Option<DateTimeOffset>("--from") { Description = "Events recorded at or after (RFC 3339)", Required = true };
        var to = new Option<DateTimeOffset>("--to") { Description = "Events recorded before (RFC 3339)", Required = true };
        var agents = new Option<string[]>("--agent") { Description = "Only this agent (repeatable); its alerts come along", AllowMultipleArgumentsPerToken = false };
        var owners = new Option<string[]>("--owner") { Description = "Only agents of this owner (repeatable)" };
        var output = new Option<string>("--out") { Description = "Folder to write the bundle to (must not exist or be empty)", Required = true };
        var command = new Command("export",
            "Write a SOX evidence bundle: events, why-authorized chains, inclusion proofs against a fresh signed checkpoint, manifest (signed), HTML and CSV summary")
        {
            from, to, agents, owners, output,
        };
        command.SetAction((parse, ct) => CliRun.Guarded("export", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            var integrity = CliSettings.Integrity();
            using var signer = integrity.LoadSigner();
            var sinks = CheckpointService.SinksFrom(integrity, CliSettings.Kafka());
            var request = new ExportRequest(parse.GetValue(from), parse.GetValue(to), parse.GetValue(agents) ?? [], parse.GetValue(owners) ?? [],
                $"auditctl@{Environment.MachineName}");
            var clock = Stopwatch.StartNew();
            var progress = new ConsoleProgress("export", clock);
            try
            {
                var result = await new BundleExporter(ds, new CheckpointService(ds, signer, sinks, earlierKeys: CliSettings.Integrity().LoadTrustedKeys(signer)), signer).ExportAsync(request, parse.GetValue(output)!, progress, ct);
                progress.Done();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"export: {result.Events} events in {result.Directory} ({result.Bytes / 1e6:0.0} MB) in {clock.Elapsed.TotalSeconds:0.0}s, proven against checkpoint {result.Checkpoint.Size} (root {result.Checkpoint.RootHash}, key {result.Checkpoint.KeyId}); peak memory {PeakRssMb():0} MB"));
            }
            finally
            {
                DisposeAll(sinks);
            }
            return 0;
        }));
        return command;
    }

    public static Command CreateVerifyBundle()
    {
        var bundle = new Argument<string>("bundle") { Description = "The bundle folder" };
        var trusted = TrustedKeyOption("manifest.sig and the checkpoint are checked with it and the bundle's public-key.pem must be that very key");
        var selfSigned = AcceptSelfSignedOption("the bundle's own public-key.pem");
        var command = new Command("verify-bundle", "Verify an evidence bundle offline (no database, no network). Exit 0: verified; 1: names every problem found; 2: bad input or nothing pinned")
        {
            bundle, trusted, selfSigned,
        };
        command.SetAction((parse, ct) => CliRun.Guarded("verify-bundle", async () =>
        {
            var folder = parse.GetValue(bundle)!;
            var keyPaths = parse.GetValue(trusted) ?? [];
            if (Unpinned("verify-bundle", keyPaths, parse.GetValue(selfSigned)) is { } exit)
            {
                var shipped = Path.Combine(folder, BundleFormat.PublicKey);
                if (keyPaths.Length == 0 && File.Exists(shipped) && TrustedKeys.Parse(File.ReadAllText(shipped)) is { } claimed)
                {
                    // Display only: which key to ask the organisation about.
                    Console.Error.WriteLine($"verify-bundle: the bundle claims to be signed by key {claimed.KeyId} (not checked)");
                }
                return exit;
            }
            var keys = keyPaths.Length > 0 ? TrustedKeys.Load(keyPaths) : TrustedKeys.SelfSigned();
            var clock = Stopwatch.StartNew();
            var report = await BundleVerifier.VerifyAsync(folder, keys, new ConsoleProgress("verify-bundle", clock, knownTotal: false), ct: ct);
            var rate = report.Events / Math.Max(clock.Elapsed.TotalSeconds, 1e-3);
            if (report.Ok)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"verify-bundle: OK, {report.Events} events: manifest signed and every file matches, every chain link holds, all events proven in checkpoint {report.CheckpointSize} (root {report.RootHash}) signed by key {report.KeyId}{(report.Pinned ? " (the trusted key)" : $" ({SelfSignedWarning}: checked only against the bundle's own {BundleFormat.PublicKey}; anyone can make such a bundle with their own key, so compare this key id with the published one)")} ({clock.Elapsed.TotalSeconds:0.0}s, {rate:0} events/s)"));
                return 0;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"verify-bundle: FAILED, {report.Problems.Count + report.MoreProblems} problem(s):"));
            foreach (var problem in report.Problems)
            {
                Console.WriteLine($"  {problem}");
            }
            if (report.MoreProblems > 0)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  … and {report.MoreProblems} more"));
            }
            return 1;
        }));
        return command;
    }

    private static void DisposeAll(IEnumerable<ICheckpointSink> sinks)
    {
        foreach (var sink in sinks.OfType<IDisposable>())
        {
            sink.Dispose();
        }
    }

    /// <summary>Peak resident memory of this process (VmHWM), in MB.</summary>
    public static double PeakRssMb()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
            }
        }
        return double.NaN;
    }

    /// <summary>Runs a command body; expected failures (bad input, missing settings, unavailable proofs) exit 2 with one line.</summary>
    /// <summary>Progress on stderr, at most twice a second, overwritten in place on a terminal.</summary>
    private sealed class ConsoleProgress(string name, Stopwatch clock, bool knownTotal = true) : IProgress<ExportProgress>, IProgress<long>
    {
        private TimeSpan _last = TimeSpan.FromDays(-1);

        public void Report(ExportProgress value) =>
            Write(knownTotal && value.Total > 0
                ? string.Create(CultureInfo.InvariantCulture, $"{name}: {value.Events}/{value.Total} events ({100.0 * value.Events / value.Total:0}%)")
                : string.Create(CultureInfo.InvariantCulture, $"{name}: {value.Events} events"));

        public void Report(long value) => Write(string.Create(CultureInfo.InvariantCulture, $"{name}: {value} events checked"));

        private void Write(string text)
        {
            if (clock.Elapsed - _last < TimeSpan.FromMilliseconds(500))
            {
                return;
            }
            _last = clock.Elapsed;
            var rate = string.Create(CultureInfo.InvariantCulture, $", {clock.Elapsed.TotalSeconds:0}s");
            if (Console.IsErrorRedirected)
            {
                Console.Error.WriteLine(text + rate);
            }
            else
            {
                Console.Error.Write($"\r{text}{rate}   ");
            }
        }

        public void Done()
        {
            if (!Console.IsErrorRedirected)
            {
                Console.Error.WriteLine();
            }
        }
    }
}
