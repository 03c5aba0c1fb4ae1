using System.CommandLine;
using System.Globalization;
using AuditPipeline.Integrity;
using AuditPipeline.Integrity.Store;

namespace AuditPipeline.Cli.Integrity;

/// <summary>
/// <c>auditctl checkpoint create|list|show|verify|keygen</c>: signed checkpoints, Merkle tree
/// heads over the whole log (docs/integrity.md). Exit codes: 0 ok, 1 verification failed or no
/// such checkpoint, 2 could not run (bad input, missing setting, nothing pinned).
/// </summary>
internal static class CheckpointCommands
{
    public static Command Create()
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
                JsonOutput.Write(checkpoint with { PublicKeyPem = null });
            }
            finally
            {
                TrustOptions.DisposeAll(sinks);
            }
            return 0;
        }));
        return command;
    }

    private static Command List()
    {
        var limit = new Option<int>("--limit") { Description = "How many, newest first", DefaultValueFactory = _ => 20 };
        var command = new Command("list", "Stored checkpoints, newest first") { limit, JsonOutput.Flag };
        command.SetAction((parse, ct) => CliRun.Guarded("checkpoint list", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            var checkpoints = await new CheckpointLog(ds).ListAsync(long.MaxValue, Math.Clamp(parse.GetValue(limit), 1, 10_000), ct);
            if (parse.GetValue(JsonOutput.Flag))
            {
                JsonOutput.Write(checkpoints.Select(c => new { c.Size, c.RootHash, c.At, c.KeyId, c.Signature }));
                return 0;
            }
            var list = new ListOutput("Size", "Signed (UTC)", "Key", "Root");
            foreach (var c in checkpoints)
            {
                list.Add(string.Create(CultureInfo.InvariantCulture, $"{c.Size,12}  {c.At:yyyy-MM-dd HH:mm:ss}Z  key {c.KeyId}  root {c.RootHash}"),
                    c.Size.ToString(CultureInfo.InvariantCulture), c.At.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), c.KeyId, c.RootHash);
            }
            list.Write();
            return 0;
        }));
        return command;
    }

    private static Command Show()
    {
        var which = new Argument<string>("size") { Description = "A log size, or 'latest'" };
        // Its output is JSON already; --json is accepted so every read command takes it.
        var command = new Command("show", "One checkpoint as its portable JSON document (with the public key)") { which, JsonOutput.Flag };
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
            JsonOutput.Write(CheckpointDocument.From(checkpoint, (await log.PublicKeysAsync(ct)).GetValueOrDefault(checkpoint.KeyId)));
            return 0;
        }));
        return command;
    }

    private static Command VerifyStore()
    {
        var dir = new Option<string?>("--dir") { Description = "Check the checkpoint files in this folder (copies kept off the database host) instead of the stored ones" };
        var trusted = TrustOptions.TrustedKey("every checkpoint must be signed with one of them (repeat for rotated keys)");
        var selfSigned = TrustOptions.AcceptSelfSigned("the keys in the --dir folder's keys/ or in audit.signing_keys");
        var archive = new Option<string?>("--archive") { Description = "Read months dropped from the hot store from this archive" };
        var command = new Command("verify",
            "Recompute the Merkle root of the log from the events and compare it with every signed checkpoint: catches edits made with database rights, even re-chained ones. Exit 1 on a mismatch")
        {
            dir, trusted, selfSigned, archive, JsonOutput.Flag,
        };
        command.SetAction((parse, ct) => CliRun.Guarded("checkpoint verify", async () =>
        {
            var folder = parse.GetValue(dir);
            var keyPaths = parse.GetValue(trusted) ?? [];
            if (TrustOptions.Unpinned("checkpoint verify", keyPaths, parse.GetValue(selfSigned)) is { } exit)
            {
                return exit;
            }
            if (folder is not null && keyPaths.FirstOrDefault(p => TrustOptions.IsInside(p, folder)) is { } inside)
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
            var result = await CliProgress.RunAsync("checkpoint verify", "events", knownTotal: true, progress =>
            {
                progress.Total = checkpoints.Max(c => c.Size);
                return new CheckpointVerifier(ds).VerifyAsync(checkpoints, keys, progress, ct, archiveLayout?.ReadLeaves());
            });
            var signedBy = pinned is not null
                ? $"signed by trusted keys ({string.Join(", ", keys.KeyIds)})"
                : $"{TrustOptions.SelfSignedWarning}: signatures checked only against {(folder is null ? "audit.signing_keys" : $"{folder}/keys")}, which whoever can write there controls";
            if (parse.GetValue(JsonOutput.Flag))
            {
                JsonOutput.Write(new
                {
                    result.Ok, result.LeavesRead, Pinned = pinned is not null, KeyIds = keys.KeyIds.ToList(),
                    Checkpoints = result.Checks.Select(c => new
                    {
                        c.Checkpoint.Size, c.Checkpoint.At, c.Checkpoint.KeyId, State = State(c), c.SignatureProblem, c.ComputedRoot, SignedRoot = c.Checkpoint.RootHash,
                    }),
                    FirstChange = result.FirstChangedBlock is { } changed ? new { changed.FirstPosition, changed.LastPosition } : null,
                });
                return result.Ok ? 0 : 1;
            }
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
            Console.WriteLine(result.Ok
                ? string.Create(CultureInfo.InvariantCulture, $"checkpoint verify: OK, {result.Checks.Count} checkpoints match the {result.LeavesRead} events they cover, {signedBy}")
                : $"checkpoint verify: FAILED, {result.Checks.Count(c => !c.RootMatches || c.SignatureProblem is not null)} of {result.Checks.Count} checkpoints do not match the store");
            return result.Ok ? 0 : 1;
        }));
        return command;
    }

    /// <summary>A checkpoint's result as a stable word for scripts.</summary>
    private static string State(CheckpointCheck c) =>
        c.SignatureProblem is not null ? "badSignature" : c.ComputedRoot is null ? "missing" : c.RootMatches ? "ok" : "mismatch";

    private static Command Keygen()
    {
        var output = new Option<string>("--out") { Description = "Where to write the private key (PEM, mode 600); refused if it exists", Required = true };
        var command = new Command("keygen", "Make a new ECDSA P-256 checkpoint signing key; prints its key id and public key") { output };
        command.SetAction((parse, _) => CliRun.Guarded("checkpoint keygen", () =>
        {
            var path = parse.GetValue(output)!;
            using var signer = CheckpointSigner.Generate();
            SecretFile.WriteNew(path, signer.ExportPrivateKeyPem(), "a signing key");
            Console.Error.WriteLine($"wrote the private key to {path} (keep it secret; set Integrity__SigningKeyFile to it)");
            Console.WriteLine($"key id {signer.KeyId}");
            Console.WriteLine(signer.PublicKeyPem);
            return 0;
        }));
        return command;
    }
}
