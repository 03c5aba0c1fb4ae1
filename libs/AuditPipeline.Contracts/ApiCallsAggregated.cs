namespace AuditPipeline.Contracts;

/// <summary>
/// Calls to the query API that carried no usable key (none, malformed, unknown, a wrong secret)
/// or were rate-limited before authentication, counted over one interval (contract
/// <c>api-calls-aggregated.v1</c>). They go to one chain, <see cref="Stream"/>, instead of an
/// <see cref="ApiCallRecorded"/> per call: a flood of random keys must not create a stream per
/// key id, nor a row per request.
/// </summary>
public sealed record ApiCallsAggregated
{
    public const string TypeName = "api-calls-aggregated.v1";
    public const string Stream = "api anonymous";

    public required Guid EventId { get; init; }
    /// <summary>The interval counted: [From, To).</summary>
    public required DateTimeOffset From { get; init; }
    public required DateTimeOffset To { get; init; }
    /// <summary>Every call counted in the interval, including <see cref="UngroupedCalls"/>.</summary>
    public required long Calls { get; init; }
    public required IReadOnlyList<ApiCallGroup> Groups { get; init; }
    /// <summary>Calls past the per-interval cap on distinct groups: counted here, not grouped.</summary>
    public long UngroupedCalls { get; init; }
}

/// <summary>Calls of one reason from one address (and, for rate-limited known keys, one key id).</summary>
public sealed record ApiCallGroup
{
    /// <summary>no_key, malformed_key, unknown_key, session_ended, missing_csrf_header, unauthenticated, rate_limited.</summary>
    public required string Reason { get; init; }
    /// <summary>A key id only when it is a real key (one that authenticated before); never a presented, unverified id.</summary>
    public string? Principal { get; init; }
    public string? RemoteAddress { get; init; }
    public required long Calls { get; init; }
    public required DateTimeOffset FirstAt { get; init; }
    public required DateTimeOffset LastAt { get; init; }
}
