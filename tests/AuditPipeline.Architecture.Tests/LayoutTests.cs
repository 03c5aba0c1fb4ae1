using System.Reflection;
using System.Text.Json;
using AuditPipeline.Testing;
using Xunit;

namespace AuditPipeline.Architecture.Tests;

public sealed class LayoutTests
{
    /// <summary>
    /// Every library and what it may reference directly: the one-way arrows of docs/architecture.md.
    /// A new arrow is a design decision, so it is made here and in the document together.
    /// </summary>
    private static readonly Dictionary<string, string[]> AllowedReferences = new(StringComparer.Ordinal)
    {
        ["AuditPipeline.Contracts"] = [],
        ["AuditPipeline.Kafka"] = [],
        ["AuditPipeline.Integrity"] = ["AuditPipeline.Contracts"],
        ["AuditPipeline.EventStore"] = ["AuditPipeline.Contracts"],
        ["AuditPipeline.Access"] = ["AuditPipeline.EventStore"],
        ["AuditPipeline.Redaction"] = ["AuditPipeline.EventStore"],
        ["AuditPipeline.Integrity.Store"] = ["AuditPipeline.Integrity", "AuditPipeline.EventStore", "AuditPipeline.Access", "AuditPipeline.Kafka"],
        ["AuditPipeline.Retention"] = ["AuditPipeline.Integrity.Store"],
        ["AuditPipeline.ServiceDefaults"] = ["AuditPipeline.Kafka", "AuditPipeline.EventStore", "AuditPipeline.Resilience"],
        ["AuditPipeline.Resilience"] = [],
        ["AuditPipeline.Subscriptions"] = ["AuditPipeline.EventStore", "AuditPipeline.Resilience"],
        ["AuditPipeline.Emitter"] = ["AuditPipeline.Contracts", "AuditPipeline.Kafka"],
        ["AuditPipeline.ClickHouse"] = ["AuditPipeline.Resilience"],
        ["AuditPipeline.Projections"] = ["AuditPipeline.Integrity.Store", "AuditPipeline.ClickHouse"],
        ["AuditPipeline.Detectors"] = ["AuditPipeline.Contracts"],
        ["AuditPipeline.Queries"] = ["AuditPipeline.Retention", "AuditPipeline.Redaction"],
    };

    private static readonly string[] DatabaseAndKafka = ["Npgsql", "Confluent.Kafka", "librdkafka.redist"];

    [Fact]
    public void Every_library_references_only_what_the_architecture_allows()
    {
        var libraries = ProjectGraph.All.Values.Where(p => p.IsProduction && !p.IsExecutable).Select(p => p.Name).Order().ToList();
        Assert.Equal(AllowedReferences.Keys.Order(), libraries);
        foreach (var (name, allowed) in AllowedReferences)
        {
            Assert.Equal(allowed.Order(), ProjectGraph.All[name].References.Select(r => r.Name).Order());
        }
    }

    [Fact]
    public void No_executable_references_another_executable_and_no_library_references_one()
    {
        var problems = ProjectGraph.All.Values.Where(p => p.IsProduction)
            .SelectMany(p => p.References.Where(r => r.CodeReference && ProjectGraph.All[r.Name].IsExecutable)
                .Select(r => $"{p.Name} references the executable {r.Name}"))
            .ToList();
        Assert.Empty(problems);
    }

    [Fact]
    public void The_offline_verifier_depends_on_neither_Npgsql_nor_Kafka()
    {
        // The project graph: no project the verifier reaches names them.
        var reached = ProjectGraph.Closure("AuditPipeline.Integrity").Append("AuditPipeline.Integrity");
        Assert.Empty(reached.SelectMany(p => ProjectGraph.All[p].Packages).Intersect(DatabaseAndKafka));

        // The restore graph, transitive packages included.
        var assets = Path.Combine(RepoPaths.Root, "libs/AuditPipeline.Integrity/obj/project.assets.json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(assets));
        var libraries = doc.RootElement.GetProperty("libraries").EnumerateObject().Select(l => l.Name.Split('/')[0]).ToList();
        Assert.NotEmpty(libraries);
        Assert.Empty(libraries.Intersect(DatabaseAndKafka, StringComparer.OrdinalIgnoreCase));

        // The built assemblies: nothing the verifier loads references them.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<AssemblyName>([typeof(AuditPipeline.Integrity.Evidence.BundleVerifier).Assembly.GetName()]);
        while (pending.TryPop(out var next))
        {
            if (!seen.Add(next.Name!) || !next.Name!.StartsWith("AuditPipeline.", StringComparison.Ordinal))
            {
                continue;
            }
            foreach (var reference in Assembly.Load(next).GetReferencedAssemblies())
            {
                pending.Push(reference);
            }
        }
        Assert.Contains("AuditPipeline.Contracts", seen);
        Assert.DoesNotContain(seen, n => n.StartsWith("Npgsql", StringComparison.Ordinal) || n.StartsWith("Confluent.Kafka", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_source_file_declares_a_namespace_of_its_own_project()
    {
        var problems = new List<string>();
        foreach (var project in ProjectGraph.All.Values.Where(p => p.IsProduction && p.Area != "infra"))
        {
            var folder = Path.GetDirectoryName(Path.Combine(RepoPaths.Root, project.RelativePath))!;
            var root = RootNamespace(project);
            foreach (var file in SourceFiles(folder))
            {
                var ns = File.ReadLines(file).FirstOrDefault(l => l.StartsWith("namespace ", StringComparison.Ordinal));
                if (ns is not null && !ns["namespace ".Length..].TrimEnd(';').StartsWith(root, StringComparison.Ordinal))
                {
                    problems.Add($"{Path.GetRelativePath(RepoPaths.Root, file)}: {ns} is not under {root}");
                }
            }
        }
        Assert.Empty(problems);
    }

    [Fact]
    public void Production_source_files_stay_short_enough_to_read_in_one_sitting()
    {
        const int MaxLines = 400;
        var tooLong = ProjectGraph.All.Values.Where(p => p.IsProduction)
            .SelectMany(p => SourceFiles(Path.GetDirectoryName(Path.Combine(RepoPaths.Root, p.RelativePath))!))
            .Select(f => (File: Path.GetRelativePath(RepoPaths.Root, f), Lines: File.ReadLines(f).Count()))
            .Where(f => f.Lines > MaxLines)
            .Select(f => $"{f.File}: {f.Lines} lines")
            .ToList();
        Assert.Empty(tooLong);
    }

    private static string RootNamespace(ProjectFile project)
    {
        var xml = System.Xml.Linq.XDocument.Load(Path.Combine(RepoPaths.Root, project.RelativePath));
        return xml.Descendants("RootNamespace").FirstOrDefault()?.Value ?? project.Name;
    }

    private static IEnumerable<string> SourceFiles(string folder) =>
        Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
}
