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

    /// <summary>
    /// The materialized views are filled by the same INSERT as agent_actions but not atomically
    /// with it: a server killed mid-insert can leave a view short (or, after the batch is
    /// retried, long). Compares each view's total with agent_actions and, where they differ,
    /// refills the view's table from agent_actions with the view's own SELECT. Run whenever the
    /// projection (re)starts. Returns the views repaired.
    /// </summary>
    public async Task<IReadOnlyList<string>> RepairViewsAsync(CancellationToken ct)
    {
        var actions = await CountAsync("SELECT count() FROM agent_actions", ct);
        var repaired = new List<string>();
        foreach (var (view, total, ddl) in new[]
        {
            ("agent_minute_counts", "SELECT sum(actions) FROM agent_minute_counts", "ddl/0002_agent_minute_counts.sql"),
            ("agent_resources", "SELECT countMerge(actions) FROM agent_resources", "ddl/0003_agent_resources.sql"),
        })
        {
            if (await CountAsync(total, ct) == actions)
            {
                continue;
            }
            var definition = Read(typeof(ClickHouseSchema).Assembly, ddl);
            var select = definition[(definition.IndexOf("AS SELECT", StringComparison.Ordinal) + 3)..];
            // The view's storage table; the name is one of the two constants above, never input
            // (Identifier refuses the dots ClickHouse uses for inner tables).
            var inner = $"`.inner.{ClickHouseSql.Identifier(view).Trim('`')}`";
            await client.ExecuteAsync($"TRUNCATE TABLE {inner}", ct);
            await client.ExecuteAsync($"INSERT INTO {inner} {select}", ct);
            repaired.Add(view);
        }
        return repaired;
    }

    private async Task<long> CountAsync(string sql, CancellationToken ct) =>
        long.Parse((await client.QueryAsync(sql + " FORMAT TSV", ct)).Trim(), System.Globalization.CultureInfo.InvariantCulture);

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
