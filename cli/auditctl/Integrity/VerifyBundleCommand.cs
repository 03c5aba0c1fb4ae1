using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using AuditPipeline.Integrity;
using AuditPipeline.Integrity.Evidence;

namespace AuditPipeline.Cli.Integrity;

/// <summary>
/// <c>auditctl verify-bundle</c>: an evidence bundle checked offline (no database, no network).
/// Exit 0 verified, 1 every problem found is named, 2 bad input or nothing pinned.
/// </summary>
internal static class VerifyBundleCommand
{
    public static Command Create()
    {
        var bundle = new Argument<string>("bundle") { Description = "The bundle folder" };
        var trusted = TrustOptions.TrustedKey("manifest.sig and the checkpoint are checked with it and the bundle's public-key.pem must be that very key");
        var selfSigned = TrustOptions.AcceptSelfSigned("the bundle's own public-key.pem");
        var command = new Command("verify-bundle", "Verify an evidence bundle offline (no database, no network). Exit 0: verified; 1: names every problem found; 2: bad input or nothing pinned")
        {
            bundle, trusted, selfSigned, JsonOutput.Flag,
        };
        command.SetAction((parse, ct) => CliRun.Guarded("verify-bundle", async () =>
        {
            var folder = parse.GetValue(bundle)!;
            var keyPaths = parse.GetValue(trusted) ?? [];
            if (TrustOptions.Unpinned("verify-bundle", keyPaths, parse.GetValue(selfSigned)) is { } exit)
            {
                var shipped = Path.Combine(folder, BundleFormat.PublicKey);
                if (keyPaths.Length == 0 && File.Exists(shipped) && TrustedKeys.Parse(await File.ReadAllTextAsync(shipped, ct)) is { } claimed)
                {
                    // Display only: which key to ask the organisation about.
                    Console.Error.WriteLine($"verify-bundle: the bundle claims to be signed by key {claimed.KeyId} (not checked)");
                }
                return exit;
            }
            var keys = keyPaths.Length > 0 ? TrustedKeys.Load(keyPaths) : TrustedKeys.SelfSigned();
            var clock = Stopwatch.StartNew();
            // The verifier is synchronous and CPU-bound: off the caller's thread, so the progress bar keeps drawing.
            var report = await CliProgress.RunAsync("verify-bundle", "events checked", knownTotal: false,
                progress => BundleVerifier.VerifyAsync(folder, keys, progress, ct: ct));
            var rate = report.Events / Math.Max(clock.Elapsed.TotalSeconds, 1e-3);
            if (parse.GetValue(JsonOutput.Flag))
            {
                JsonOutput.Write(new
                {
                    report.Ok, report.Events, report.CheckpointSize, report.RootHash, report.KeyId, report.Pinned,
                    Problems = report.Problems, report.MoreProblems, Seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
                });
                return report.Ok ? 0 : 1;
            }
            if (report.Ok)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"verify-bundle: OK, {report.Events} events: manifest signed and every file matches, every chain link holds, all events proven in checkpoint {report.CheckpointSize} (root {report.RootHash}) signed by key {report.KeyId}{(report.Pinned ? " (the trusted key)" : $" ({TrustOptions.SelfSignedWarning}: checked only against the bundle's own {BundleFormat.PublicKey}; anyone can make such a bundle with their own key, so compare this key id with the published one)")} ({clock.Elapsed.TotalSeconds:0.0}s, {rate:0} events/s)"));
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
}
