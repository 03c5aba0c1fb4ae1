using System.Collections.Concurrent;
using System.Reflection;

namespace AuditPipeline.Core.Store;

/// <summary>SQL lives in .sql files embedded in this assembly; this reads them by name.</summary>
public static class SqlScripts
{
    private static readonly Assembly Assembly = typeof(SqlScripts).Assembly;
    private static readonly ConcurrentDictionary<string, string> Cache = new();

    /// <summary>A query from Store/Sql/Queries, by file name without extension.</summary>
    public static string Query(string name) => Cache.GetOrAdd($"sql/Queries/{name}.sql", Load);

    /// <summary>Migrations in apply order (file names start with a zero-padded version).</summary>
    public static IReadOnlyList<(string Name, string Sql)> Migrations() =>
        Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith("sql/Migrations/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n => (Path.GetFileNameWithoutExtension(n), Load(n)))
            .ToList();

    private static string Load(string resource)
    {
        using var stream = Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded SQL '{resource}' is missing from the build.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
