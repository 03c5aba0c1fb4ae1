using System.Reflection;

namespace AuditPipeline.ClickHouse;

/// <summary>
/// Versioned ClickHouse DDL (embedded Ddl/*.sql, applied in name order, each idempotent with
/// IF NOT EXISTS) and the tables it creates, so a rebuild can drop them in reverse.
/// </summary>
public sealed class ClickHouseSchema(ClickHouseClient client)
{
    /// <summary>Dependent views first: dropping in this order never leaves a view without its source.</summary>
    public static readonly IReadOnlyList<string> Tables = ["agent_resources", "agent_minute_counts", "agent_actions"];

    public async Task<IReadOnlyList<string>> ApplyAsync(CancellationToken ct)
    {
        var applied = new List<string>();
        var assembly = typeof(ClickHouseSchema).Assembly;
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("ddl/", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            await client.ExecuteAsync(Read(assembly, resource), ct);
            applied.Add(Path.GetFileNameWithoutExtension(resource));
        }
        return applied;
    }

    public async Task DropAllAsync(CancellationToken ct)
    {
        foreach (var table in Tables)
        {
            await client.ExecuteAsync($"DROP TABLE IF EXISTS {ClickHouseSql.Identifier(table)}", ct);
        }
    }

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
