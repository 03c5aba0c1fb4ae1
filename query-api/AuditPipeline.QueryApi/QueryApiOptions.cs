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

    /// <summary>Longest range of one /v1/actions/counts query with day buckets (minute: 2 days, hour: MaxSearchDays).</summary>
    [Range(1, 3660)] public int MaxCountDays { get; set; } = 366;

    /// <summary>Longest range /v1/verify checks when no agent is named (the whole store is auditctl verify's job).</summary>
    [Range(1, 366)] public int MaxVerifyDays { get; set; } = 7;

    /// <summary>Every ClickHouse query from the API carries max_execution_time: the server stops it after this many seconds.</summary>
    [Range(1, 3600)] public int ClickHouseMaxExecutionSeconds { get; set; } = 10;

    /// <summary>Exports waiting or running at once (beyond: 503), and per key (beyond: 429).</summary>
    [Range(1, 1000)] public int MaxPendingExports { get; set; } = 8;
    [Range(1, 1000)] public int MaxPendingExportsPerKey { get; set; } = 2;

    /// <summary>
    /// Call records waiting for the store. When it is full (the store is slow or down) further
    /// records are dropped and counted (auditpipeline.api.call_records_dropped), never waited for.
    /// </summary>
    [Range(1, 1_000_000)] public int CallRecordBuffer { get; set; } = 10_000;

    /// <summary>Backoff cap while the store refuses call records.</summary>
    [Range(10, 600_000)] public int CallRecordMaxRetryDelayMs { get; set; } = 5_000;

    /// <summary>Calls without a usable key (and rate-limited ones) are counted over this interval into one api-calls-aggregated.v1 event.</summary>
    [Range(1, 3600)] public int AnonymousSummarySeconds { get; set; } = 60;

    /// <summary>Distinct (reason, address, key) groups kept per interval; further calls are only counted.</summary>
    [Range(1, 100_000)] public int AnonymousMaxGroups { get; set; } = 1_000;
}
