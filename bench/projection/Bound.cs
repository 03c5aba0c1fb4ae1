using System.Diagnostics;
using AuditPipeline.ClickHouse;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Projections;
using Npgsql;

namespace AuditPipeline.Bench.Projection;

/// <summary>The bound: the same rows, encoded beforehand, inserted 20,000 per INSERT.</summary>
internal static class Bound
{
    public static async Task<double> MeasureAsync(NpgsqlDataSource store, ClickHouseClient target)
    {
        // Rows encoded beforehand with the projection's own row writer; only the inserts are timed.
        var bodies = new List<(byte[] Body, int Rows)>();
        var encoder = new Encoder();
        await new StoreSubscription(store, "bench-bound-reader", (batch, _) =>
        {
            bodies.Add(encoder.Encode(batch));
            return Task.CompletedTask;
        }, new SubscriptionOptions { BatchSize = 20_000, StopWhenCaughtUp = true }).RunAsync(default);

        var rows = bodies.Sum(b => b.Rows);
        var clock = Stopwatch.StartNew();
        foreach (var (body, _) in bodies)
        {
            await target.InsertRowBinaryAsync("agent_actions", ClickHouseActionsRow.Columns, body, default);
        }
        return rows / clock.Elapsed.TotalSeconds;
    }

    private sealed class Encoder
    {
        public (byte[] Body, int Rows) Encode(IReadOnlyList<StoredEvent> batch)
        {
            using var writer = new RowBinaryWriter();
            foreach (var e in batch)
            {
                ClickHouseActionsRow.Write(writer, e, ContractJson.Deserialize(e.Payload));
            }
            return (writer.ToArray(), writer.Rows);
        }
    }
}
