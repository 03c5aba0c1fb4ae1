using System.Diagnostics.Metrics;

namespace AuditPipeline.QueryApi;

/// <summary>
/// Counters under the meter <c>AuditPipeline.QueryApi</c> (dotnet-counters, OpenTelemetry), and
/// the totals readiness and the writer's log lines report.
/// </summary>
public sealed class ApiMetrics
{
    public const string MeterName = "AuditPipeline.QueryApi";

    private readonly Counter<long> _written;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _keyLookups;
    private readonly Counter<long> _rateLimited;
    private readonly Counter<long> _aggregated;
    private long _writtenTotal;
    private long _droppedTotal;
    private volatile bool _storeFailing;

    public ApiMetrics(IMeterFactory meters)
    {
        Meter = meters.Create(MeterName);
        _written = Meter.CreateCounter<long>("auditpipeline.api.call_records_written", description: "Call records appended to the store");
        _dropped = Meter.CreateCounter<long>("auditpipeline.api.call_records_dropped", description: "Call records lost: buffer full or refused by the store");
        _keyLookups = Meter.CreateCounter<long>("auditpipeline.api.key_lookups", description: "API keys looked up in the database");
        _rateLimited = Meter.CreateCounter<long>("auditpipeline.api.requests_rate_limited", description: "Requests answered 429 before authentication");
        _aggregated = Meter.CreateCounter<long>("auditpipeline.api.calls_aggregated", description: "Calls without a usable key counted into api-calls-aggregated.v1 records");
    }

    public Meter Meter { get; }

    public long CallRecordsWritten => Interlocked.Read(ref _writtenTotal);
    public long CallRecordsDropped => Interlocked.Read(ref _droppedTotal);

    /// <summary>True from a failed append of call records until the next one succeeds.</summary>
    public bool StoreFailing { get => _storeFailing; set => _storeFailing = value; }

    public void Written(int records)
    {
        Interlocked.Add(ref _writtenTotal, records);
        _written.Add(records);
    }

    public void Dropped(int records)
    {
        Interlocked.Add(ref _droppedTotal, records);
        _dropped.Add(records);
    }

    public void KeyLookedUp() => _keyLookups.Add(1);

    public void RateLimited() => _rateLimited.Add(1);

    public void Aggregated(string reason) => _aggregated.Add(1, new KeyValuePair<string, object?>("reason", reason));
}
