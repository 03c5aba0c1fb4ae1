using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AuditPipeline.Cli.Infrastructure;

/// <summary>
/// <c>--json</c> on the read commands: the result as one JSON document on stdout (camelCase,
/// indented, enums as names) for scripts. Exit codes do not change, and errors stay one line on
/// stderr, so a script tells failure from data by the exit code alone.
/// </summary>
internal static class JsonOutput
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>One instance shared by every read command (an option may belong to several commands).</summary>
    public static readonly Option<bool> Flag = new("--json") { Description = "Print the result as JSON on stdout (for scripts); errors stay one line on stderr, exit codes are unchanged" };

    public static void Write<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, Options));
}
