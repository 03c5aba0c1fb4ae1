using System.ComponentModel.DataAnnotations;

namespace AuditPipeline.Retention;

/// <summary>
/// Section <c>Retention</c>: how many months stay in the hot store and how long the archive keeps
/// events. <c>auditctl retention run</c> applies it: seal every closed month, drop sealed months
/// older than the hot window, purge archived months past the retention period; legal holds win.
/// </summary>
public sealed class RetentionPolicy
{
    public const string Section = "Retention";
    /// <summary>The product keeps events at least this long; a purge earlier than this is reported by archive verify.</summary>
    public const int MinimumYears = 7;

    /// <summary>Months kept in the hot store, the current one included.</summary>
    [Range(1, 12 * MinimumYears)] public int HotMonths { get; set; } = 13;

    /// <summary>Years after a month ends that its events are kept (in the archive once dropped).</summary>
    [Range(MinimumYears, 100)] public int Years { get; set; } = MinimumYears;

    /// <summary>Where sealed months are archived (object-store layout, see ArchiveLayout).</summary>
    public string? ArchiveDirectory { get; set; }

    /// <summary>The first month that stays hot at <paramref name="now"/>.</summary>
    public DateOnly FirstHotMonth(DateTimeOffset now) => new DateOnly(now.UtcDateTime.Year, now.UtcDateTime.Month, 1).AddMonths(-(HotMonths - 1));

    /// <summary>When a month's events may be purged from the archive.</summary>
    public DateTimeOffset ExpiresAt(DateOnly month) => new DateTimeOffset(month.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).AddMonths(1).AddYears(Years);
}

/// <summary>What one policy run did, and what it left and why (legal holds, months not closed).</summary>
public sealed record RetentionRunReport(List<string> Sealed, List<string> Dropped, List<string> Purged, List<string> Kept)
{
    public static RetentionRunReport Empty() => new([], [], [], []);
}
