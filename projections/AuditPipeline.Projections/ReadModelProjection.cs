using System.Text;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using Npgsql;
using NpgsqlTypes;

namespace AuditPipeline.Projections;

/// <summary>
/// Store → PostgreSQL read models: the agent inventory (<c>audit_read.agents</c>), the
/// authorization index (<c>audit_read.authorizations</c>, what why-authorized reads) and the
/// incidents (<c>audit_read.incidents</c>, see <see cref="IncidentReadModel"/>). One
/// transaction per batch. Idempotent: authorizations are keyed by event id, and an agent's
/// totals only take events above the position it has already counted.
/// </summary>
public sealed class ReadModelProjection(NpgsqlDataSource dataSource)
{
    public const string SubscriptionName = "read-models";

    public async Task HandleAsync(IReadOnlyList<StoredEvent> batch, CancellationToken ct)
    {
        var actions = batch.Where(e => e.EventType == AgentActionOccurred.TypeName)
            .Select(e => (Stored: e, Event: ContractJson.Deserialize(e.Payload)))
            .ToList();
        var alerts = batch.Any(e => e.EventType == AgentAlert.TypeName);
        if (actions.Count == 0 && !alerts)
        {
            return;
        }

        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        if (alerts)
        {
            await IncidentReadModel.ProjectAsync(conn, tx, batch, ct);
        }
        if (actions.Count == 0)
        {
            await tx.CommitAsync(ct);
            return;
        }
        var counted = await LockAgentsAsync(conn, tx, actions.Select(a => a.Event.Agent.Id).Distinct().ToArray(), ct);
        await InsertAuthorizationsAsync(conn, tx, actions, ct);
        await UpsertAgentsAsync(conn, tx, actions.Where(a => a.Stored.GlobalSeq > counted.GetValueOrDefault(a.Event.Agent.Id)).ToList(), ct);
        await tx.CommitAsync(ct);
    }

    private static async Task<Dictionary<string, long>> LockAgentsAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string[] ids, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(ReadModelSql.LockAgents, conn, tx);
        cmd.Parameters.AddWithValue("ids", ids);
        var counted = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            counted[reader.GetString(0)] = reader.GetInt64(1);
        }
        return counted;
    }

    private static async Task InsertAuthorizationsAsync(
        NpgsqlConnection conn, NpgsqlTransaction tx, List<(StoredEvent Stored, AgentActionOccurred Event)> actions, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(ReadModelSql.InsertAuthorizations, conn, tx);
        cmd.Parameters.AddWithValue("event_ids", actions.Select(a => a.Stored.EventId).ToArray());
        cmd.Parameters.AddWithValue("seqs", actions.Select(a => a.Stored.GlobalSeq).ToArray());
        cmd.Parameters.AddWithValue("agents", actions.Select(a => a.Stored.StreamId).ToArray());
        cmd.Parameters.AddWithValue("versions", actions.Select(a => a.Stored.Version).ToArray());
        cmd.Parameters.AddWithValue("occurred", actions.Select(a => a.Event.OccurredAt).ToArray());
        cmd.Parameters.AddWithValue("recorded", actions.Select(a => a.Stored.RecordedAt).ToArray());
        cmd.Parameters.Add(Nullable("humans", actions.Select(a => a.Event.Delegation.OnBehalfOf)));
        cmd.Parameters.AddWithValue("decisions", actions.Select(a => WireNames.Of(a.Event.Authorization.Decision)).ToArray());
        cmd.Parameters.AddWithValue("policies", actions.Select(a => a.Event.Authorization.PolicyId).ToArray());
        cmd.Parameters.AddWithValue("policy_versions", actions.Select(a => a.Event.Authorization.PolicyVersion).ToArray());
        cmd.Parameters.Add(new NpgsqlParameter("payloads", NpgsqlDbType.Array | NpgsqlDbType.Json)
        {
            Value = actions.Select(a => Encoding.UTF8.GetString(a.Stored.Payload)).ToArray(),
        });
        cmd.Parameters.AddWithValue("prev_hashes", actions.Select(a => a.Stored.PrevHash).ToArray());
        cmd.Parameters.AddWithValue("hashes", actions.Select(a => a.Stored.Hash).ToArray());
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static async Task UpsertAgentsAsync(
        NpgsqlConnection conn, NpgsqlTransaction tx, List<(StoredEvent Stored, AgentActionOccurred Event)> fresh, CancellationToken ct)
    {
        var agents = fresh.GroupBy(a => a.Event.Agent.Id, StringComparer.Ordinal).Select(g =>
        {
            var latest = g.MaxBy(a => a.Stored.GlobalSeq).Event.Agent;
            return new
            {
                Id = g.Key,
                latest.Name,
                latest.Owner,
                latest.Team,
                Tier = latest.RiskTier is { } tier ? WireNames.Of(tier) : null,
                // \x1f separates the versions in one text value (arrays of arrays do not bind).
                Models = string.Join('\x1f', g.Select(a => $"{a.Event.Agent.Model}@{a.Event.Agent.ModelVersion}").Distinct(StringComparer.Ordinal)),
                First = g.Min(a => a.Event.OccurredAt),
                Last = g.Max(a => a.Event.OccurredAt),
                Actions = (long)g.Count(),
                Denied = (long)g.Count(a => a.Event.Authorization.Decision == Decision.Deny),
                Cost = g.Sum(a => (long)decimal.Round((a.Event.Usage?.CostUsd ?? 0) * 1_000_000m)),
                Seq = g.Max(a => a.Stored.GlobalSeq),
            };
        }).ToList();
        if (agents.Count == 0)
        {
            return;
        }
        await using var cmd = new NpgsqlCommand(ReadModelSql.UpsertAgents, conn, tx);
        cmd.Parameters.AddWithValue("ids", agents.Select(a => a.Id).ToArray());
        cmd.Parameters.AddWithValue("names", agents.Select(a => a.Name).ToArray());
        cmd.Parameters.Add(Nullable("owners", agents.Select(a => a.Owner)));
        cmd.Parameters.Add(Nullable("teams", agents.Select(a => a.Team)));
        cmd.Parameters.Add(Nullable("tiers", agents.Select(a => a.Tier)));
        cmd.Parameters.AddWithValue("models", agents.Select(a => a.Models).ToArray());
        cmd.Parameters.AddWithValue("firsts", agents.Select(a => a.First).ToArray());
        cmd.Parameters.AddWithValue("lasts", agents.Select(a => a.Last).ToArray());
        cmd.Parameters.AddWithValue("actions", agents.Select(a => a.Actions).ToArray());
        cmd.Parameters.AddWithValue("denied", agents.Select(a => a.Denied).ToArray());
        cmd.Parameters.AddWithValue("costs", agents.Select(a => a.Cost).ToArray());
        cmd.Parameters.AddWithValue("seqs", agents.Select(a => a.Seq).ToArray());
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static NpgsqlParameter Nullable(string name, IEnumerable<string?> values) =>
        new(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = values.Select(v => (object?)v ?? DBNull.Value).ToArray() };
}
