using System.Diagnostics.Metrics;
using AuditPipeline.Core.Store;

namespace AuditPipeline.Ingest;

/// <summary>Counters under the meter "AuditPipeline.Ingest" (dotnet-counters, OpenTelemetry).</summary>
public sealed class IngestMetrics : IDisposable
{
    private readonly Meter _meter = new("AuditPipeline.Ingest");
    private readonly Counter<long> _stored;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _quarantined;
    private readonly Counter<long> _retries;
    private long _logHead;

    public IngestMetrics()
    {
        _stored = _meter.CreateCounter<long>("auditpipeline.ingest.events_stored");
        _duplicates = _meter.CreateCounter<long>("auditpipeline.ingest.duplicates_dropped");
        _quarantined = _meter.CreateCounter<long>("auditpipeline.ingest.messages_quarantined");
        _retries = _meter.CreateCounter<long>("auditpipeline.ingest.retries");
        _meter.CreateObservableGauge("auditpipeline.ingest.log_head", () => Interlocked.Read(ref _logHead));
    }

    public void Record(AppendResult result, int quarantined)
    {
        _stored.Add(result.Appended);
        _duplicates.Add(result.Duplicates);
        _quarantined.Add(quarantined);
        if (result.Head.Value > 0)
        {
            Interlocked.Exchange(ref _logHead, result.Head.Value);
        }
    }

    public void Retried() => _retries.Add(1);

    public void Dispose() => _meter.Dispose();
}
