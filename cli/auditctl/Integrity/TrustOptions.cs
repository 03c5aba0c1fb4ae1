using System.CommandLine;
using System.Globalization;
using AuditPipeline.Integrity;
using AuditPipeline.Integrity.Store;

namespace AuditPipeline.Cli.Integrity;

/// <summary>What the integrity commands share: which keys to trust, and the checkpoint sinks they open.</summary>
internal static class TrustOptions
{
    public const string SelfSignedWarning = "SELF-SIGNED, NOT PINNED (--accept-self-signed)";

    public static Option<string[]> TrustedKey(string what) => new("--trusted-key")
    {
        Description = $"Public key (PEM file, or a folder of *.pem files) you trust, from your organisation, never from the data being checked; {what}",
        AllowMultipleArgumentsPerToken = false,
    };

    public static Option<bool> AcceptSelfSigned(string shipped) => new("--accept-self-signed")
    {
        Description = $"Without --trusted-key: accept signatures checked only against {shipped}. Proves the data is consistent with itself, not who signed it (anyone can make such data with their own key)",
    };

    /// <summary>Fail closed: no trusted key and no explicit acceptance is exit 2 with what to do; both at once is a contradiction.</summary>
    public static int? Unpinned(string name, string[] keyPaths, bool acceptSelfSigned)
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

    public static bool IsInside(string path, string folder)
    {
        var relative = Path.GetRelativePath(Path.GetFullPath(folder), Path.GetFullPath(path));
        return relative == "." || (!relative.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(relative));
    }

    /// <summary>The keys proofs are checked against: those given, else the configured trusted keys and signing key; null: none.</summary>
    public static TrustedKeys? ProofTrust(string[]? given)
    {
        if (given is { Length: > 0 })
        {
            return TrustedKeys.Load(given);
        }
        var integrity = CliSettings.Integrity();
        using var signer = integrity.HasSigningKey ? integrity.LoadSigner() : null;
        return integrity.LoadTrustedKeys(signer);
    }

    public static void DisposeAll(IEnumerable<ICheckpointSink> sinks)
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
}
