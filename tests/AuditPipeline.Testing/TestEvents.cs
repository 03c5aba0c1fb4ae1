using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Emitter;

namespace AuditPipeline.Testing;

/// <summary>Sample events shaped as the store's input, for tests and benchmarks that bypass Kafka.</summary>
public static class TestEvents
{
    public static IncomingEvent Incoming(AgentActionOccurred e, int sourceOffset = 0)
    {
        var payload = ContractJson.SerializeCanonical(e);
        return new IncomingEvent(e.EventId, e.Agent.Id, AgentActionOccurred.TypeName, e.OccurredAt, payload,
            new SourceMessage(new SourcePosition("test", 0, sourceOffset), null, payload));
    }

    /// <summary><paramref name="count"/> events of one agent, a millisecond apart from <paramref name="at"/> (default now).</summary>
    public static List<IncomingEvent> ForAgent(SampleFleet fleet, AgentIdentity agent, int count, DateTimeOffset? at = null) =>
        Enumerable.Range(0, count).Select(i => Incoming(fleet.Next(agent, (at ?? DateTimeOffset.UtcNow).AddMilliseconds(i)), i)).ToList();

    /// <summary><paramref name="count"/> events spread round-robin over the fleet's agents.</summary>
    public static List<IncomingEvent> AcrossFleet(SampleFleet fleet, int count) =>
        Enumerable.Range(0, count).Select(i => Incoming(fleet.Next(fleet.Agents[i % fleet.Agents.Count], DateTimeOffset.UtcNow), i)).ToList();
}
