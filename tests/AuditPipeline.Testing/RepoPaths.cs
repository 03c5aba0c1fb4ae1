namespace AuditPipeline.Testing;

/// <summary>Finds the built executables of the repo (same configuration as the tests).</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    private static string Configuration =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    public static string IngestDll => Built("ingest/AuditPipeline.Ingest", "AuditPipeline.Ingest.dll");
    public static string AuditctlDll => Built("cli/auditctl", "auditctl.dll");
    public static string DetectorServiceDll => Built("detectors/AuditPipeline.DetectorService", "AuditPipeline.DetectorService.dll");
    public static string ProjectionsDll => Built("projections/AuditPipeline.ProjectionService", "AuditPipeline.ProjectionService.dll");

    public static string Built(string project, string file)
    {
        var path = Path.Combine(Root, project, "bin", Configuration, "net10.0", file);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is not built; build the solution first.");
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AuditPipeline.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("AuditPipeline.sln not found above the test directory.");
    }
}
