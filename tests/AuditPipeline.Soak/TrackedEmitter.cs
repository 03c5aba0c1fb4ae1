using AuditPipeline.Contracts;
using AuditPipeline.Emitter;
using Confluent.Kafka;

namespace AuditPipeline.Soak;

/// <summary>The real emitter (Confluent.Kafka, idempotent, acks=all) with every event's delivery recorded in the ledger.</summary>
public sealed class TrackedEmitter(string bootstrapServers, string topic, AckLedger ledger) : IDisposable
{
    private readonly AgentActionEmitter _emitter = new(bootstrapServers, topic);

    /// <summary>A full local queue empties as the broker acknowledges: wait, never drop (the event already counts as produced).</summary>
    public async Task EnqueueAsync(AgentActionOccurred e)
    {
        var delivered = ledger.Track(e);
        while (true)
        {
            try
            {
                _emitter.Enqueue(e, delivered);
                return;
            }
            catch (ProduceException<string, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                await Task.Delay(50);
            }
        }
    }

    /// <summary>Waits for the delivery report of everything enqueued; returns how many are still outstanding.</summary>
    public int Flush(TimeSpan timeout) => _emitter.Flush(timeout);

    public void Dispose() => _emitter.Dispose();
}
