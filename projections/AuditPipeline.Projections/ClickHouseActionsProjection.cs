using System.Globalization;
using AuditPipeline.ClickHouse;
using AuditPipeline.Core.Contract;
using AuditPipeline.Core.Store;

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

    private static readonly string[] Columns =
    [
        "global_seq", "version", "event_id", "agent_id", "agent_name", "owner", "team", "on_behalf_of",
        "operation", "tool", "resource_type", "resource_id", "sensitivity", "decision", "policy_id",
        "policy_version", "rule", "input_tokens", "output_tokens", "cost_micro_usd", "duration_ms", "outcome",
        "occurred_at", "occurred_at_ms", "recorded_at_ms",
    ];

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
                Write(rows, e, ContractJson.Deserialize(e.Payload));
                last = e.GlobalSeq;
            }
            if (rows.Rows > 0)
            {
                await clickHouse.InsertRowBinaryAsync("agent_actions", Columns, rows.ToArray(), ct);
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

    private static void Write(RowBinaryWriter rows, StoredEvent stored, AgentActionOccurred e)
    {
        var usage = e.Usage ?? new Usage();
        rows.UInt64((ulong)stored.GlobalSeq)
            .UInt64((ulong)stored.Version)
            .String(e.EventId.ToString("D"))
            .String(e.Agent.Id)
            .String(e.Agent.Name)
            .String(e.Agent.Owner ?? "")
            .String(e.Agent.Team ?? "")
            .String(e.Delegation.OnBehalfOf ?? "")
            .String(e.Action.Operation)
            .String(e.Action.Tool ?? "")
            .String(e.Action.Resource.Type)
            .String(e.Action.Resource.Id)
            .String(Names.Of(e.Action.Resource.Sensitivity))
            .String(Names.Of(e.Authorization.Decision))
            .String(e.Authorization.PolicyId)
            .String(e.Authorization.PolicyVersion)
            .String(e.Authorization.Rule ?? "")
            .UInt64((ulong)usage.InputTokens)
            .UInt64((ulong)usage.OutputTokens)
            .UInt64((ulong)decimal.Round(usage.CostUsd * 1_000_000m, MidpointRounding.AwayFromZero))
            .UInt64((ulong)usage.DurationMs)
            .String(Names.Of(e.Outcome.Status))
            .DateTime(e.OccurredAt)
            .UInt64((ulong)e.OccurredAt.ToUnixTimeMilliseconds())
            .UInt64((ulong)stored.RecordedAt.ToUnixTimeMilliseconds())
            .EndRow();
    }

    /// <summary>Enum values as the contract spells them (lowercase).</summary>
    private static class Names
    {
        public static string Of<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();
    }
}
