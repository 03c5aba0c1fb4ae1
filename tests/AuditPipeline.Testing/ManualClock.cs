namespace AuditPipeline.Testing;

/// <summary>A clock a test moves by hand (month boundaries, closed months, years of retention).</summary>
public sealed class ManualClock(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;
    public override DateTimeOffset GetUtcNow() => Now;
}
