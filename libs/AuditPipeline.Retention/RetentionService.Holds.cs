using AuditPipeline.Contracts;
using Npgsql;
using NpgsqlTypes;

namespace AuditPipeline.Retention;

// Legal holds: created and released with a reason, enforced by drop and purge.
public sealed partial class RetentionService
{
    public async Task<LegalHold> CreateHoldAsync(string? agent, string? owner, DateTimeOffset? from, DateTimeOffset? to, string reason, string actor, CancellationToken ct)
    {
        if (agent is null && owner is null && from is null && to is null)
        {
            throw new ArgumentException("a legal hold names an agent, an owner or a time range (or several)");
        }
        if (string.IsNullOrWhiteSpace(reason))
        {
            throw new ArgumentException("a legal hold needs a reason (the matter it is for)");
        }
        var at = clock.GetUtcNow();
        var hold = new LegalHold(Guid.CreateVersion7(at), agent, owner, from, to, reason, actor, at);
        // The table first: a hold that is enforced but whose log entry failed is safe; the reverse is not.
        await using (var cmd = dataSource.CreateCommand(RetentionSql.LegalHoldInsert))
        {
            cmd.Parameters.AddWithValue("hold_id", hold.Id);
            cmd.Parameters.Add(new NpgsqlParameter("agent_id", NpgsqlDbType.Text) { Value = (object?)agent ?? DBNull.Value });
            cmd.Parameters.Add(new NpgsqlParameter("owner", NpgsqlDbType.Text) { Value = (object?)owner ?? DBNull.Value });
            cmd.Parameters.Add(new NpgsqlParameter("held_from", NpgsqlDbType.TimestampTz) { Value = (object?)from ?? DBNull.Value });
            cmd.Parameters.Add(new NpgsqlParameter("held_to", NpgsqlDbType.TimestampTz) { Value = (object?)to ?? DBNull.Value });
            cmd.Parameters.AddWithValue("reason", reason);
            cmd.Parameters.AddWithValue("created_by", actor);
            cmd.Parameters.AddWithValue("created_at", at);
            await cmd.ExecuteNonQueryAsync(ct);
        }
        await RecordAsync(new RetentionRecorded
        {
            EventId = Guid.CreateVersion7(at), At = Timestamps.ToUtcMicroseconds(at), Action = RetentionAction.HoldCreated, HoldId = hold.Id,
            HoldAgent = agent, HoldOwner = owner, HoldFrom = from is null ? null : Timestamps.ToUtcMicroseconds(from.Value),
            HoldTo = to is null ? null : Timestamps.ToUtcMicroseconds(to.Value), Actor = actor, Reason = reason,
        }, ct);
        return hold;
    }

    public async Task ReleaseHoldAsync(Guid id, string reason, string actor, CancellationToken ct)
    {
        var at = clock.GetUtcNow();
        await using (var cmd = dataSource.CreateCommand(RetentionSql.LegalHoldRelease))
        {
            cmd.Parameters.AddWithValue("hold_id", id);
            cmd.Parameters.AddWithValue("at", at);
            cmd.Parameters.AddWithValue("by", actor);
            cmd.Parameters.AddWithValue("reason", reason);
            if (await cmd.ExecuteScalarAsync(ct) is not true)
            {
                throw new RetentionRefusedException($"no active legal hold {id}");
            }
        }
        await RecordAsync(new RetentionRecorded
        {
            EventId = Guid.CreateVersion7(at), At = Timestamps.ToUtcMicroseconds(at), Action = RetentionAction.HoldReleased, HoldId = id, Actor = actor, Reason = reason,
        }, ct);
    }

    /// <summary>
    /// Active legal holds, from <c>audit.legal_holds</c>: the retention log records them too, but
    /// its events leave the hot store with their month while the hold may last for years.
    /// </summary>
    public async Task<List<LegalHold>> HoldsAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(RetentionSql.LegalHoldsActive);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var holds = new List<LegalHold>();
        while (await reader.ReadAsync(ct))
        {
            holds.Add(new LegalHold(reader.GetGuid(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3), reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4),
                reader.GetString(5), reader.GetString(6), reader.GetFieldValue<DateTimeOffset>(7)));
        }
        return holds;
    }
}
