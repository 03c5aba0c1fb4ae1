using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using AuditPipeline.EventStore;

namespace AuditPipeline.Ingest;

/// <summary>
/// Counters under the meter "AuditPipeline.Ingest" (dotnet-counters, OpenTelemetry), and a
/// progress line every 10 seconds saying where the time goes.
/// </summary>
public sealed class IngestMetrics : IDisposable
{
    private static readonly TimeSpan SummaryEvery = TimeSpan.FromSeconds(10);
    private readonly Meter _meter = new("AuditPipeline.Ingest");
    private readonly Counter<long> _stored;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _quarantined;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _deadLetterSkipped;
    private readonly Histogram<double> _appendMs;
    private long _logHead;

    private long _windowStart = Stopwatch.GetTimestamp();
    private long _windowMessages, _windowStored, _windowBatches;
    private TimeSpan _windowAppend, _windowCommit, _windowRead;

    public IngestMetrics()
    {
        _stored = _meter.CreateCounter<long>("auditpipeline.ingest.events_stored");
        _duplicates = _meter.CreateCounter<long>("auditpipeline.ingest.duplicates_dropped");
        _quarantined = _meter.CreateCounter<long>("auditpipeline.ingest.messages_quarantined");
        _retries = _meter.CreateCounter<long>("auditpipeline.ingest.retries");
        _deadLetterSkipped = _meter.CreateCounter<long>("auditpipeline.ingest.dead_letter_skipped");
        _appendMs = _meter.CreateHistogram<double>("auditpipeline.ingest.append_duration", "ms");
        _meter.CreateObservableGauge("auditpipeline.ingest.log_head", () => Interlocked.Read(ref _logHead));
    }

    public void Record(AppendResult result, int quarantined, int messages, TimeSpan append, TimeSpan commit, TimeSpan read)
    {
        _stored.Add(result.Appended);
        _duplicates.Add(result.Duplicates);
        _quarantined.Add(quarantined);
        _appendMs.Record(append.TotalMilliseconds);
        if (result.Head.Value > 0)
        {
            Interlocked.Exchange(ref _logHead, result.Head.Value);
        }
        _windowMessages += messages;
        _windowStored += result.Appended;
        _windowBatches++;
        _windowAppend += append;
        _windowCommit += commit;
        _windowRead += read;
    }

    public void Retried() => _retries.Add(1);

    /// <summary>A dead-letter copy given up on (its quarantine row is stored).</summary>
    public void DeadLetterSkipped() => _deadLetterSkipped.Add(1);

    /// <summary>A summary of the last window, at most every 10 seconds (called from the write loop only).</summary>
    public bool TryTakeSummary(out string summary)
    {
        var elapsed = Stopwatch.GetElapsedTime(_windowStart);
        if (elapsed < SummaryEvery || _windowBatches == 0)
        {
            summary = "";
            return false;
        }
        summary = string.Create(CultureInfo.InvariantCulture,
            $"{_windowStored / elapsed.TotalSeconds:0} events/s stored, {_windowMessages} messages in {_windowBatches} batches " +
            $"(avg {_windowMessages / _windowBatches}), read+decode {_windowRead.TotalSeconds:0.0}s, append {_windowAppend.TotalSeconds:0.0}s, " +
            $"commit {_windowCommit.TotalSeconds:0.0}s over {elapsed.TotalSeconds:0.0}s, log head {Interlocked.Read(ref _logHead)}");
        _windowStart = Stopwatch.GetTimestamp();
        _windowMessages = _windowStored = _windowBatches = 0;
        _windowAppend = _windowCommit = _windowRead = TimeSpan.Zero;
        return true;
    }

    public void Dispose() => _meter.Dispose();
}
