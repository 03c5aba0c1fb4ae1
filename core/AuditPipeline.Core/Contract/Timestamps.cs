namespace AuditPipeline.Core.Contract;

/// <summary>The store keeps timestamps as UTC microseconds (PostgreSQL's precision).</summary>
public static class Timestamps
{
    public static DateTimeOffset ToUtcMicroseconds(DateTimeOffset value)
    {
        var utc = value.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - (utc.Ticks % 10), TimeSpan.Zero);
    }

    public static long ToUnixMicroseconds(DateTimeOffset value) =>
        (value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
}
