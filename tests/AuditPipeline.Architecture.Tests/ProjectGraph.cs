using System.Xml.Linq;
using AuditPipeline.Testing;

namespace AuditPipeline.Architecture.Tests;

/// <summary>One project file of the repository, read as MSBuild would see its references.</summary>
public sealed record ProjectFile(string Name, string RelativePath, bool IsExecutable, IReadOnlyList<ProjectLink> References, IReadOnlyList<string> Packages)
{
    /// <summary>Top folder: libs, ingest, projections, detectors, query-api, cli, infra, tests, bench.</summary>
    public string Area => RelativePath.Split('/')[0];

    /// <summary>Shipped code: everything but tests and benchmarks.</summary>
    public bool IsProduction => Area is not ("tests" or "bench");
}

/// <summary>A project reference; <see cref="CodeReference"/> is false for build-order-only ones (ReferenceOutputAssembly=false).</summary>
public sealed record ProjectLink(string Name, bool CodeReference);

/// <summary>Every project of the solution folder tree, parsed once.</summary>
public static class ProjectGraph
{
    public static IReadOnlyDictionary<string, ProjectFile> All { get; } = Load();

    /// <summary>The projects <paramref name="name"/> reaches through code references, itself excluded.</summary>
    public static IReadOnlySet<string> Closure(string name)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([name]);
        while (pending.TryPop(out var next))
        {
            foreach (var link in All[next].References.Where(r => r.CodeReference))
            {
                if (seen.Add(link.Name))
                {
                    pending.Push(link.Name);
                }
            }
        }
        return seen;
    }

    private static Dictionary<string, ProjectFile> Load()
    {
        var projects = new Dictionary<string, ProjectFile>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(RepoPaths.Root, "*.csproj", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(RepoPaths.Root, path).Replace('\\', '/');
            if (relative.Split('/').Any(part => part is "bin" or "obj" or "node_modules" || part.StartsWith('.')))
            {
                continue;
            }
            var xml = XDocument.Load(path);
            var name = Path.GetFileNameWithoutExtension(path);
            var exe = xml.Descendants("OutputType").Any(e => e.Value.Trim() == "Exe")
                || xml.Root?.Attribute("Sdk")?.Value == "Microsoft.NET.Sdk.Web";
            var references = xml.Descendants("ProjectReference")
                .Select(r => new ProjectLink(Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/')),
                    r.Attribute("ReferenceOutputAssembly")?.Value.Equals("false", StringComparison.OrdinalIgnoreCase) != true))
                .ToList();
            var packages = xml.Descendants("PackageReference").Select(p => p.Attribute("Include")!.Value).ToList();
            projects.Add(name, new ProjectFile(name, relative, exe, references, packages));
        }
        return projects;
    }
}
