using System.Collections.Concurrent;
using System.Reflection;

namespace AuditPipeline.EventStore;

/// <summary>
/// SQL lives in .sql files in the Sql/ folder of the module that owns the tables, embedded in
/// that module's assembly (Directory.Build.props embeds every project's Sql/**/*.sql). Each
/// module reaches its files through one catalog class with a property per file, so no caller
/// names a file by a string and a test can prove every file has exactly one property.
/// </summary>
public sealed class EmbeddedSql(Assembly assembly)
{
    private const string Prefix = "sql/";
    private const string MigrationsPrefix = "sql/Migrations/";
    private readonly ConcurrentDictionary<string, string> _loaded = new(StringComparer.Ordinal);

    /// <summary>The query in Sql/<paramref name="name"/>.sql.</summary>
    public string this[string name] => _loaded.GetOrAdd(name, n => Load($"{Prefix}{n}.sql"));

    /// <summary>Every query file the assembly carries (migrations excluded), by name.</summary>
    public IReadOnlyList<string> Names =>
        assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && !n.StartsWith(MigrationsPrefix, StringComparison.Ordinal))
            .Select(n => n[Prefix.Length..^".sql".Length])
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>The names read so far (a test reads every property, then compares with <see cref="Names"/>).</summary>
    public IReadOnlyCollection<string> Loaded => [.. _loaded.Keys];

    /// <summary>Files in Sql/Migrations in apply order (their names start with a zero-padded version).</summary>
    public IReadOnlyList<(string Name, string Sql)> Migrations() =>
        assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(MigrationsPrefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n => (Path.GetFileNameWithoutExtension(n), Load(n)))
            .ToList();

    private string Load(string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded SQL '{resource}' is missing from {assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
