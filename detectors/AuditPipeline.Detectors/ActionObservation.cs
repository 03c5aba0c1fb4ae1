using AuditPipeline.Contracts;

namespace AuditPipeline.Detectors;

/// <summary>What the detectors need from one action: small, so a week of a fleet fits in memory.</summary>
public readonly record struct ActionObservation(
    Guid EventId, string AgentId, string? Owner, RiskTier? Tier, DateTimeOffset At,
    bool Denied, long Tokens, double CostUsd, string Resource, Sensitivity Sensitivity)
{
    public static ActionObservation From(AgentActionOccurred e) => new(
        e.EventId, e.Agent.Id, e.Agent.Owner, e.Agent.RiskTier, e.OccurredAt,
        e.Authorization.Decision == Decision.Deny,
        (e.Usage?.InputTokens ?? 0) + (e.Usage?.OutputTokens ?? 0),
        (double)(e.Usage?.CostUsd ?? 0m),
        ResourceKey(e.Action.Resource),
        e.Action.Resource.Sensitivity);

    public static string ResourceKey(TargetResource r) => $"{r.Type}:{r.Id}";
}

/// <summary>One-minute buckets are addressed by whole minutes since 0001-01-01 (a Monday).</summary>
public static class Minutes
{
    public const int PerDay = 1440;

    public static long Of(DateTimeOffset at) => at.UtcTicks / TimeSpan.TicksPerMinute;

    public static DateTimeOffset Start(long minute) => new(minute * TimeSpan.TicksPerMinute, TimeSpan.Zero);

    public static int MinuteOfDay(long minute) => (int)(minute % PerDay);

    /// <summary>Saturday and Sunday (UTC) follow their own baseline: weekend traffic is not Monday's.</summary>
    public static bool IsWeekend(long minute)
    {
        var dayOfWeek = (int)((minute / PerDay + 1) % 7); // 0 = Sunday, as DayOfWeek
        return dayOfWeek is 0 or 6;
    }
}
