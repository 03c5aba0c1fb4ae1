using System.Reflection;
using System.Runtime.InteropServices;

namespace AuditPipeline.Kafka;

/// <summary>
/// Loads the librdkafka that ships in the output folder (librdkafka.redist) for Confluent.Kafka
/// and for our own P/Invokes (the dev broker's mock cluster), and refuses anything older than
/// <see cref="Minimum"/>. Call it first in every process that uses Kafka: Confluent.Kafka binds
/// its native library once, on first use, and would otherwise take whatever the system loader
/// finds (the redist's default librdkafka.so needs libsasl2.so.3, which Debian 12 lacks, so it
/// silently falls back to an installed librdkafka.so.1, e.g. Debian's 2.0.2).
/// </summary>
public static class KafkaNative
{
    /// <summary>Older versions lack what the consumer calls (2.0.2 crashes on Consume) and what the mock cluster tests use.</summary>
    public static readonly Version Minimum = new(2, 16, 0);

    /// <summary>The library name the managed code imports (Confluent.Kafka's and ours).</summary>
    public const string LibraryName = "librdkafka";

    // Relative to the output folder; Directory.Build.targets copies exactly these.
    // Confluent.Kafka.Library.Load(path) is no way round it: it P/Invokes "libdl", which Debian 12 does not have.
    private static readonly string[] Candidates = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => ["runtimes/linux-x64/native/centos8-librdkafka.so"],
        Architecture.Arm64 => ["runtimes/linux-arm64/native/librdkafka.so"],
        _ => [],
    };

    private static readonly Lock Gate = new();
    private static readonly HashSet<Assembly> Resolved = [];
    private static IntPtr _handle;
    private static string? _path;

    /// <summary>
    /// Loads librdkafka once and serves it to Confluent.Kafka and to <paramref name="alsoFor"/>
    /// (assemblies whose imports name <see cref="LibraryName"/>), then checks its version.
    /// Safe to call any number of times, from any assembly.
    /// </summary>
    /// <returns>What was loaded, e.g. <c>librdkafka 2.16.0 (…/centos8-librdkafka.so)</c>.</returns>
    /// <exception cref="KafkaNativeException">The file is missing or unloadable, or too old.</exception>
    public static string Load(params Assembly[] alsoFor)
    {
        lock (Gate)
        {
            if (_handle == IntPtr.Zero)
            {
                var path = Locate();
                try
                {
                    _handle = NativeLibrary.Load(path);
                }
                catch (DllNotFoundException ex)
                {
                    throw new KafkaNativeException($"cannot load librdkafka from {path}: {ex.Message}", ex);
                }
                _path = path;
            }
            Serve(typeof(Confluent.Kafka.Library).Assembly);
            foreach (var assembly in alsoFor)
            {
                Serve(assembly);
            }
        }
        var version = Confluent.Kafka.Library.Version;
        if (!IsSupported(version))
        {
            throw new KafkaNativeException($"librdkafka {Confluent.Kafka.Library.VersionString} is loaded, older than {Minimum.ToString(3)}, which AuditPipeline needs " +
                $"(expected the librdkafka.redist build at {_path}; if that file is current, Confluent.Kafka was used before KafkaNative.Load)");
        }
        return $"librdkafka {Confluent.Kafka.Library.VersionString} ({_path})";
    }

    /// <summary>
    /// The first statement of a Kafka-using process: loads and checks librdkafka and says which one
    /// (one line on stdout, unless <paramref name="quiet"/>); on failure says why on stderr and exits with 2.
    /// </summary>
    public static void LoadOrExit(string process, bool quiet = false)
    {
        try
        {
            var loaded = Load();
            if (!quiet)
            {
                Console.WriteLine($"{process}: {loaded}");
            }
        }
        catch (KafkaNativeException ex)
        {
            Console.Error.WriteLine($"{process}: refusing to start: {ex.Message}");
            Environment.Exit(2);
        }
    }

    /// <summary>librdkafka's version integer (0xMMmmrrpp, as <c>rd_kafka_version()</c>) against <see cref="Minimum"/>.</summary>
    public static bool IsSupported(int version) =>
        new Version((version >> 24) & 0xff, (version >> 16) & 0xff, (version >> 8) & 0xff) >= Minimum;

    private static string Locate()
    {
        foreach (var relative in Candidates)
        {
            var path = Path.Combine(AppContext.BaseDirectory, relative);
            if (File.Exists(path))
            {
                return path;
            }
        }
        throw new KafkaNativeException(Candidates.Length == 0
            ? $"no librdkafka build for {RuntimeInformation.ProcessArchitecture} is shipped (librdkafka.redist has linux-x64 and linux-arm64)"
            : $"{string.Join(" or ", Candidates)} is missing from {AppContext.BaseDirectory} (it comes from the librdkafka.redist package at build)");
    }

    private static void Serve(Assembly assembly)
    {
        if (Resolved.Add(assembly))
        {
            NativeLibrary.SetDllImportResolver(assembly, (name, _, _) =>
                name.StartsWith(LibraryName, StringComparison.Ordinal) ? _handle : IntPtr.Zero);
        }
    }
}

/// <summary>librdkafka is missing, unloadable or too old: the process must not run.</summary>
public sealed class KafkaNativeException(string message, Exception? inner = null) : Exception(message, inner);
