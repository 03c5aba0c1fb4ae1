namespace AuditPipeline.Contracts;

/// <summary>
/// One call to the query API (contract <c>api-call.v1</c>): who, what, when, outcome. Stored in
/// the stream <see cref="StreamOf"/> so the audit system's own users are audited like agents.
/// </summary>
public sealed record ApiCallRecorded
{
    public const string TypeName = "api-call.v1";

    public required Guid EventId { get; init; }
    public required DateTimeOffset At { get; init; }
    /// <summary>The API key id, or "anonymous" when the call carried no valid key.</summary>
    public required string Principal { get; init; }
    public string? PrincipalOwner { get; init; }
    public required string Method { get; init; }
    /// <summary>The route template (e.g. /v1/agents/{agentId}), or the path when no route matched.</summary>
    public required string Route { get; init; }
    public required string Path { get; init; }
    /// <summary>The query string, truncated to 1,000 characters.</summary>
    public string? Query { get; init; }
    public required int Status { get; init; }
    /// <summary>allowed, unauthenticated, forbidden, invalid, rate_limited, not_found, error.</summary>
    public required string Outcome { get; init; }
    public required double DurationMs { get; init; }
    public string? RemoteAddress { get; init; }

    /// <summary>Principals are key ids or "anonymous"; the space keeps these streams apart from agents'.</summary>
    public static string StreamOf(string principal) => $"api {principal}";
}
