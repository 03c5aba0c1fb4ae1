using System.Collections.Concurrent;
using AuditPipeline.Contracts;
using Confluent.Kafka;

namespace AuditPipeline.Soak;

/// <summary>
/// Every event the soak produced, and which of them the broker acknowledged (acks=all): those
/// are the ones that must end up stored exactly once. Failed deliveries are counted by error.
/// </summary>
public sealed class AckLedger
{
    private readonly ConcurrentDictionary<Guid, string> _acknowledged = new();
    private readonly ConcurrentDictionary<string, int> _failures = new();
    private long _produced;

    public long Produced => Interlocked.Read(ref _produced);
    public int AcknowledgedCount => _acknowledged.Count;
    public IReadOnlyDictionary<string, int> Failures => _failures;

    /// <summary>Acknowledged event id → agent id.</summary>
    public IReadOnlyDictionary<Guid, string> Acknowledged => _acknowledged;

    /// <summary>Call before producing; the returned callback records the delivery report.</summary>
    public Action<DeliveryReport<string, byte[]>> Track(AgentActionOccurred e)
    {
        Interlocked.Increment(ref _produced);
        var (id, agent) = (e.EventId, e.Agent.Id);
        return report =>
        {
            if (report.Error.IsError)
            {
                _failures.AddOrUpdate(report.Error.Code.ToString(), 1, (_, n) => n + 1);
            }
            else
            {
                _acknowledged[id] = agent;
            }
        };
    }
}
