using AuditPipeline.Contracts;
using AuditPipeline.Emitter;

namespace AuditPipeline.Bench.Ingest;

/// <summary>The same events for both measurements: canonical bytes as the ingest would store them.</summary>
internal sealed record Workload(IReadOnlyList<AgentActionOccurred> Events, IReadOnlyList<byte[]> Canonical, int Agents)
{
    public double AverageBytes => Canonical.Average(c => c.Length);

    public static Workload Build(int count, int seed)
    {
        const int agents = 200;
        var fleet = new SampleFleet(agents, seed);
        var now = DateTimeOffset.UtcNow;
        var events = new List<AgentActionOccurred>(count);
        for (var i = 0; i < count; i++)
        {
            events.Add(fleet.Next(fleet.Agents[i % agents], now.AddMilliseconds(-count + i)));
        }
        return new Workload(events, events.Select(ContractJson.SerializeCanonical).ToList(), agents);
    }
}
