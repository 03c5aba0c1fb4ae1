using AuditPipeline.Contracts;
using Microsoft.Extensions.Options;

namespace AuditPipeline.QueryApi;

/// <summary>
/// Counts calls that carried no usable key, or were rate-limited before authentication, per
/// (reason, client address, known key id) over an interval; <see cref="CallRecordWriter"/> takes
/// the counts every <see cref="QueryApiOptions.AnonymousSummarySeconds"/> as one
/// <see cref="ApiCallsAggregated"/> record in the stream <c>api anonymous</c>. Presented key ids
/// are never kept: random ids must not become streams, groups or memory. At most
/// <see cref="QueryApiOptions.AnonymousMaxGroups"/> groups per interval; beyond, calls are only counted.
/// </summary>
public sealed class AnonymousCalls(IOptions<QueryApiOptions> options, ApiMetrics metrics, TimeProvider clock)
{
    public const string NoKey = "no_key";
    public const string MalformedKey = "malformed_key";
    public const string UnknownKey = "unknown_key";
    public const string SessionEnded = "session_ended";
    public const string MissingCsrfHeader = "missing_csrf_header";
    public const string Unauthenticated = "unauthenticated";
    public const string RateLimited = "rate_limited";

    private readonly Lock _lock = new();
    private Dictionary<(string Reason, string? Principal, string? Address), Group> _groups = [];
    private DateTimeOffset _since = clock.GetUtcNow();
    private long _calls;
    private long _ungrouped;

    public void Count(string reason, string? principal, string? address)
    {
        var now = clock.GetUtcNow();
        lock (_lock)
        {
            _calls++;
            if (_groups.TryGetValue((reason, principal, address), out var group))
            {
                group.Calls++;
                group.LastAt = now;
            }
            else if (_groups.Count < options.Value.AnonymousMaxGroups)
            {
                _groups[(reason, principal, address)] = new Group { Calls = 1, FirstAt = now, LastAt = now };
            }
            else
            {
                _ungrouped++;
            }
        }
        metrics.Aggregated(reason);
    }

    /// <summary>The interval's record (null when nothing was counted); the next interval starts now.</summary>
    public ApiCallsAggregated? Take()
    {
        var now = clock.GetUtcNow();
        Dictionary<(string Reason, string? Principal, string? Address), Group> groups;
        long calls, ungrouped;
        DateTimeOffset since;
        lock (_lock)
        {
            (groups, calls, ungrouped, since) = (_groups, _calls, _ungrouped, _since);
            (_groups, _calls, _ungrouped, _since) = ([], 0, 0, now);
        }
        if (calls == 0)
        {
            return null;
        }
        return new ApiCallsAggregated
        {
            EventId = Guid.CreateVersion7(now),
            From = Timestamps.ToUtcMicroseconds(since),
            To = Timestamps.ToUtcMicroseconds(now),
            Calls = calls,
            UngroupedCalls = ungrouped,
            Groups = [.. groups.OrderByDescending(g => g.Value.Calls).ThenBy(g => g.Key.Reason, StringComparer.Ordinal).Select(g => new ApiCallGroup
            {
                Reason = g.Key.Reason,
                Principal = g.Key.Principal,
                RemoteAddress = g.Key.Address,
                Calls = g.Value.Calls,
                FirstAt = Timestamps.ToUtcMicroseconds(g.Value.FirstAt),
                LastAt = Timestamps.ToUtcMicroseconds(g.Value.LastAt),
            })],
        };
    }

    private sealed class Group
    {
        public long Calls { get; set; }
        public DateTimeOffset FirstAt { get; init; }
        public DateTimeOffset LastAt { get; set; }
    }
}
