using System.Globalization;
using AuditPipeline.ClickHouse;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;

namespace AuditPipeline.Projections;

/// <summary>
/// Store → ClickHouse <c>agent_actions</c> (the per-minute and per-resource tables follow by
/// materialized views). Idempotent without trusting the checkpoint: each batch is one INSERT
/// (one block, so all or nothing), batches arrive in log order, and rows at or below the highest
/// position already in ClickHouse are skipped. A crash between the insert and the checkpoint
/// replays the batch and inserts nothing twice.
/// </summary>
public sealed class ClickHouseActionsProjection(ClickHouseClient clickHouse)
{
    public const string SubscriptionName = "clickhouse-actions";

    // The projector is the only writer (leader lock), so the highest projected position is
    // read once and then tracked; any failure makes it read again.
    private long? _projectedUpTo;

    public async Task HandleAsync(IReadOnlyList<StoredEvent> batch, CancellationToken ct)
    {
        try
        {
            _projectedUpTo ??= await ReadProjectedUpToAsync(ct);
            using var rows = new RowBinaryWriter();
            long last = 0;
            foreach (var e in batch)
            {
                if (e.GlobalSeq <= _projectedUpTo || e.EventType != AgentActionOccurred.TypeName)
                {
                    continue;
                }
                ClickHouseActionsRow.Write(rows, e, ContractJson.Deserialize(e.Payload));
                last = e.GlobalSeq;
            }
            if (rows.Rows > 0)
            {
                await clickHouse.InsertRowBinaryAsync("agent_actions", ClickHouseActionsRow.Columns, rows.ToArray(), ct);
                _projectedUpTo = last;
            }
        }
        catch
        {
            _projectedUpTo = null;
            throw;
        }
    }

    private async Task<long> ReadProjectedUpToAsync(CancellationToken ct)
    {
        var text = (await clickHouse.QueryAsync("SELECT max(global_seq) FROM agent_actions FORMAT TSV", ct)).Trim();
        return text.Length == 0 ? 0 : long.Parse(text, CultureInfo.InvariantCulture);
    }
}
