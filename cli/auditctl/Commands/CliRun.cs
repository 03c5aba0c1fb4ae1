using AuditPipeline.Integrity.Store;
using AuditPipeline.Retention;

namespace AuditPipeline.Cli.Commands;

/// <summary>
/// How every operator command reports failure: a refused retention or shredding operation exits 1
/// with "refused: why"; bad input, missing files, a missing key or an unreachable database exit 2
/// with the message alone (never a stack trace).
/// </summary>
internal static class CliRun
{
    public static async Task<int> Guarded(string name, Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (RetentionRefusedException ex)
        {
            Console.Error.WriteLine($"{name}: refused: {ex.Message}");
            return 1;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or ProofUnavailableException or UnauthorizedAccessException
                                       or FormatException or System.Security.Cryptography.CryptographicException or Npgsql.NpgsqlException
                                       or Confluent.Kafka.KafkaException)
        {
            Console.Error.WriteLine($"{name}: {ex.Message}");
            return 2;
        }
    }

    /// <summary>
    /// Writes a new key file readable by its owner only (mode 600 from creation, never briefly
    /// wider), and never over an existing one: a replaced key loses what it protected or signed.
    /// </summary>
    public static void WriteNewSecretFile(string path, string content, string what)
    {
        if (File.Exists(path))
        {
            throw new IOException($"{path} exists; {what} is never overwritten");
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using var writer = new StreamWriter(new FileStream(path, options));
        writer.Write(content);
    }
}
