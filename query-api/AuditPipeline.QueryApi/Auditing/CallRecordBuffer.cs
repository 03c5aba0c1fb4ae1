using System.Threading.Channels;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using Microsoft.Extensions.Options;

namespace AuditPipeline.QueryApi;

/// <summary>
/// Call records waiting for <see cref="CallRecordWriter"/>, at most
/// <see cref="QueryApiOptions.CallRecordBuffer"/>. Adding never waits: when the buffer is full
/// (the store is slow or down) the record is dropped and counted, so requests never queue behind
/// the audit trail.
/// </summary>
public sealed class CallRecordBuffer
{
    private readonly Channel<ApiCallRecorded> _channel;
    private readonly ApiMetrics _metrics;

    public CallRecordBuffer(IOptions<QueryApiOptions> options, ApiMetrics metrics)
    {
        _metrics = metrics;
        Capacity = options.Value.CallRecordBuffer;
        _channel = Channel.CreateBounded<ApiCallRecorded>(new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        metrics.Meter.CreateObservableGauge("auditpipeline.api.call_records_buffered", () => _channel.Reader.Count, description: "Call records waiting for the store");
    }

    public int Capacity { get; }

    public int Count => _channel.Reader.Count;

    public ChannelReader<ApiCallRecorded> Reader => _channel.Reader;

    public void Add(ApiCallRecorded call)
    {
        if (!_channel.Writer.TryWrite(call))
        {
            _metrics.Dropped(1);
        }
    }
}

/// <summary>The store call records are appended to: the API's own (tests swap in an unreachable one).</summary>
public sealed record CallRecordStore(IStreamWriter Store);
