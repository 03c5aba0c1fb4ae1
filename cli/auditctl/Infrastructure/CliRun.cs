using AuditPipeline.Integrity.Store;
using AuditPipeline.Retention;

namespace AuditPipeline.Cli.Infrastructure;

/// <summary>
/// How every command reports failure (the exit codes are documented in docs/operations.md and in
/// <c>auditctl --help</c>): a refused retention or shredding operation exits 1 with "refused: why";
/// bad input, missing files, a missing key, an unreachable database, broker or ClickHouse exit 2
/// with the message alone. Never a stack trace: it hides the cause and can show a connection string.
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
                                       or Confluent.Kafka.KafkaException or HttpRequestException or TimeoutException or System.Text.Json.JsonException)
        {
            Console.Error.WriteLine($"{name}: {OneLine(ex.Message)}");
            return 2;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Not one of the failures an operator causes: still one line and exit 2 (could not run),
            // with the type so a bug report says what happened.
            Console.Error.WriteLine($"{name}: could not run: {ex.GetType().Name}: {OneLine(ex.Message)}");
            return 2;
        }
    }

    /// <summary>The same for a body with nothing to await.</summary>
    public static Task<int> Guarded(string name, Func<int> body) => Guarded(name, () => Task.FromResult(body()));

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");
}
