using System.ComponentModel.DataAnnotations;

namespace AuditPipeline.Contracts.Validation;

/// <summary>
/// Bounds an event must stay within. Defaults suit agent actions; all are configurable. Lengths are
/// in Unicode code points (JSON Schema's <c>maxLength</c>); the schema file is written with the
/// defaults and evaluated with these values (<see cref="ContractSchema"/>).
/// </summary>
public sealed record ValidationLimits
{
    /// <summary>Largest encoded event accepted; larger ones go to the dead-letter topic unparsed.</summary>
    [Range(1024, 1024 * 1024)]
    public int MaxEventBytes { get; init; } = 64 * 1024;
    [Range(1, 4096)]
    public int MaxIdLength { get; init; } = 256;
    [Range(1, 65536)]
    public int MaxTextLength { get; init; } = 4096;
    /// <summary>Longest <c>action.input</c> (prompt text or request body); emitters truncate beyond it.</summary>
    [Range(1, 262144)]
    public int MaxInputLength { get; init; } = 32768;
    [Range(1, 1024)]
    public int MaxListLength { get; init; } = 64;
    /// <summary>How old an event may be when it arrives (emitter outages, replays).</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromDays(30);
    /// <summary>Clock skew tolerated for events stamped in the future.</summary>
    public TimeSpan MaxClockSkew { get; init; } = TimeSpan.FromMinutes(5);
}
