using System.ComponentModel.DataAnnotations;

namespace AuditPipeline.Projections;

public sealed class ClickHouseOptions
{
    public const string Section = "ClickHouse";

    /// <summary>HTTP interface base URL, e.g. http://127.0.0.1:58123/ (credentials via the URL's user info are never logged).</summary>
    [Required(ErrorMessage = "ClickHouse:Url is required (the ClickHouse HTTP interface).")]
    [Url]
    public string Url { get; set; } = "";
}

public sealed class ProjectionOptions
{
    public const string Section = "Projections";

    [Range(1, 1_000_000)] public int BatchSize { get; set; } = 20_000;

    /// <summary>Cap of the backoff when ClickHouse or PostgreSQL is unavailable.</summary>
    [Range(100, 600_000)] public int MaxRetryDelayMs { get; set; } = 10_000;
}
