using System.ComponentModel.DataAnnotations;

namespace AuditPipeline.ProjectionService;

public sealed class ProjectionOptions
{
    public const string Section = "Projections";

    [Range(1, 1_000_000)] public int BatchSize { get; set; } = 20_000;

    /// <summary>Cap of the backoff when ClickHouse or PostgreSQL is unavailable.</summary>
    [Range(100, 600_000)] public int MaxRetryDelayMs { get; set; } = 10_000;
}
