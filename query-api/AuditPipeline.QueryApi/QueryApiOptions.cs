using System.ComponentModel.DataAnnotations;

namespace AuditPipeline.QueryApi;

/// <summary>Section <c>QueryApi</c>.</summary>
public sealed class QueryApiOptions
{
    public const string Section = "QueryApi";

    /// <summary>Requests per second each principal may make (token bucket), and its burst.</summary>
    [Range(1, 100_000)] public int RequestsPerSecond { get; set; } = 50;
    [Range(1, 1_000_000)] public int Burst { get; set; } = 100;

    [Range(1, 10_000)] public int DefaultPageSize { get; set; } = 50;
    [Range(1, 10_000)] public int MaxPageSize { get; set; } = 500;

    /// <summary>Alerts are listed from the alert events of this many days.</summary>
    [Range(1, 3650)] public int AlertLookbackDays { get; set; } = 30;

    /// <summary>Longest time range of one action search.</summary>
    [Range(1, 3660)] public int MaxSearchDays { get; set; } = 92;

    /// <summary>Readiness fails when a projection is further behind than this.</summary>
    [Range(1, 86_400)] public int MaxProjectionLagSeconds { get; set; } = 60;

    /// <summary>Where finished evidence exports wait to be downloaded (default: a folder under the temp directory).</summary>
    public string? ExportDirectory { get; set; }

    /// <summary>Finished exports are deleted after this many hours.</summary>
    [Range(1, 24 * 30)] public int ExportRetentionHours { get; set; } = 24;

    /// <summary>Longest range one API export may cover (auditctl export has no limit).</summary>
    [Range(1, 3660)] public int MaxExportDays { get; set; } = 366;

    /// <summary>
    /// The archive (auditctl archive seal --archive): why-authorized answers for months dropped
    /// from the hot store are read from it. Empty: such events are reported as not found.
    /// </summary>
    public string? ArchiveDirectory { get; set; }

    /// <summary>How long a web console sign-in lasts (never past the key's expiry).</summary>
    [Range(1, 24 * 7)] public int SessionHours { get; set; } = 8;
}
