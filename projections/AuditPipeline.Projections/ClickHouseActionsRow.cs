using AuditPipeline.ClickHouse;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;

namespace AuditPipeline.Projections;

/// <summary>How one stored action becomes one <c>agent_actions</c> row (RowBinary, column order below).</summary>
public static class ClickHouseActionsRow
{
    public static readonly IReadOnlyList<string> Columns =
    [
        "global_seq", "version", "event_id", "agent_id", "agent_name", "owner", "team", "on_behalf_of",
        "operation", "tool", "resource_type", "resource_id", "sensitivity", "decision", "policy_id",
        "policy_version", "rule", "input_tokens", "output_tokens", "cost_micro_usd", "duration_ms", "outcome",
        "occurred_at", "occurred_at_ms", "recorded_at_ms",
    ];

    public static void Write(RowBinaryWriter rows, StoredEvent stored, AgentActionOccurred e)
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
            .String(WireNames.Of(e.Action.Resource.Sensitivity))
            .String(WireNames.Of(e.Authorization.Decision))
            .String(e.Authorization.PolicyId)
            .String(e.Authorization.PolicyVersion)
            .String(e.Authorization.Rule ?? "")
            .UInt64((ulong)usage.InputTokens)
            .UInt64((ulong)usage.OutputTokens)
            .UInt64((ulong)decimal.Round(usage.CostUsd * 1_000_000m, MidpointRounding.AwayFromZero))
            .UInt64((ulong)usage.DurationMs)
            .String(WireNames.Of(e.Outcome.Status))
            .DateTime(e.OccurredAt)
            .UInt64((ulong)e.OccurredAt.ToUnixTimeMilliseconds())
            .UInt64((ulong)stored.RecordedAt.ToUnixTimeMilliseconds())
            .EndRow();
    }
}
