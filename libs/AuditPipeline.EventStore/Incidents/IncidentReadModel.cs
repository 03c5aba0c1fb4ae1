using System.Text;
using AuditPipeline.Contracts;
using Npgsql;
using NpgsqlTypes;

namespace AuditPipeline.EventStore;

/// <summary>One incident as listed: the fold's summary, from the read model.</summary>
public sealed record IncidentRow(
    Guid IncidentId, string AgentId, string? Owner, string? SubjectOwner, string Severity, string Status, bool Open, string? AcknowledgedBy,
    IReadOnlyList<string> Categories, string Title, DateTimeOffset StartedAt, DateTimeOffset UpdatedAt, long Version);

/// <summary>What to list. A scoped reader (any teams or owners) sees only incidents its scope covers.</summary>
public sealed record IncidentQuery(DateTimeOffset Since, int Limit)
{
    public bool OpenOnly { get; init; }
    public string? Severity { get; init; }
    public string? AgentId { get; init; }
    public IReadOnlyList<string> Teams { get; init; } = [];
    public IReadOnlyList<string> Owners { get; init; } = [];
    /// <summary>The last row of the previous page.</summary>
    public (DateTimeOffset StartedAt, Guid IncidentId)? After { get; init; }
}

/// <summary>
/// The incidents read model (<c>audit_read.incidents</c>): kept by the read-model projector from
/// the store and read by every listing (API, console, auditctl). Each batch re-folds the whole
/// stream of every incident it touched with <see cref="IncidentState.From"/>, so the rows are the
/// one fold of the store as of the projector's position and a rebuild gives the same rows.
/// </summary>
public sealed class IncidentReadModel(NpgsqlDataSource dataSource)
{
    /// <summary>Projects a batch inside the read-model projector's transaction.</summary>
    public static async Task ProjectAsync(NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<StoredEvent> batch, CancellationToken ct)
    {
        var streams = batch.Where(e => e.EventType == AgentAlert.TypeName).Select(e => e.StreamId).Distinct(StringComparer.Ordinal).ToArray();
        if (streams.Length == 0)
        {
            return;
        }
        var folded = new List<(IncidentState State, DateTimeOffset RecordedAt, long Seq)>();
        await using (var read = new NpgsqlCommand(StoreSql.IncidentsReadStreams, conn, tx))
        {
            read.Parameters.AddWithValue("streams", streams);
            read.Parameters.AddWithValue("upto", batch.Max(e => e.GlobalSeq));
            await using var reader = await read.ExecuteReaderAsync(ct);
            var (stream, changes, last) = ("", new List<AgentAlert>(), (Version: 0L, RecordedAt: default(DateTimeOffset), Seq: 0L));
            while (await reader.ReadAsync(ct))
            {
                var id = reader.GetString(reader.GetOrdinal("stream_id"));
                if (id != stream && changes.Count > 0)
                {
                    folded.Add((IncidentState.From(changes, last.Version), last.RecordedAt, last.Seq));
                    changes = [];
                }
                stream = id;
                last = (reader.GetInt64(reader.GetOrdinal("version")), reader.GetFieldValue<DateTimeOffset>(reader.GetOrdinal("recorded_at")),
                    reader.GetInt64(reader.GetOrdinal("global_seq")));
                changes.Add(ContractJson.DeserializeAlert(Encoding.UTF8.GetBytes(reader.GetString(reader.GetOrdinal("payload")))));
            }
            if (changes.Count > 0)
            {
                folded.Add((IncidentState.From(changes, last.Version), last.RecordedAt, last.Seq));
            }
        }
        if (folded.Count == 0)
        {
            return; // the batch's alert events came from an archive replay and are no longer in the hot store
        }

        await using var upsert = new NpgsqlCommand(StoreSql.IncidentsUpsert, conn, tx);
        upsert.Parameters.AddWithValue("ids", folded.Select(f => f.State.IncidentId).ToArray());
        upsert.Parameters.AddWithValue("agents", folded.Select(f => f.State.Opened.AgentId).ToArray());
        upsert.Parameters.Add(Nullable("owners", folded.Select(f => f.State.Opened.Owner)));
        upsert.Parameters.Add(Nullable("subject_owners", folded.Select(f => f.State.Opened.SubjectOwner)));
        upsert.Parameters.AddWithValue("severities", folded.Select(f => WireNames.Of(f.State.Severity)).ToArray());
        upsert.Parameters.AddWithValue("statuses", folded.Select(f => f.State.Status).ToArray());
        upsert.Parameters.AddWithValue("open", folded.Select(f => f.State.Open).ToArray());
        upsert.Parameters.Add(Nullable("acknowledged_by", folded.Select(f => f.State.AcknowledgedBy)));
        // \x1f separates the categories in one text value (arrays of arrays do not bind).
        upsert.Parameters.AddWithValue("categories", folded.Select(f => string.Join('\x1f', f.State.Latest.Categories)).ToArray());
        upsert.Parameters.AddWithValue("titles", folded.Select(f => f.State.Latest.Title).ToArray());
        upsert.Parameters.AddWithValue("started", folded.Select(f => f.State.Opened.StartedAt).ToArray());
        upsert.Parameters.AddWithValue("updated", folded.Select(f => f.State.Latest.At).ToArray());
        upsert.Parameters.AddWithValue("recorded", folded.Select(f => f.RecordedAt).ToArray());
        upsert.Parameters.AddWithValue("versions", folded.Select(f => f.State.Version).ToArray());
        upsert.Parameters.AddWithValue("seqs", folded.Select(f => f.Seq).ToArray());
        await upsert.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Incidents newest first (by start), at most <see cref="IncidentQuery.Limit"/>.</summary>
    public async Task<List<IncidentRow>> ListAsync(IncidentQuery query, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(StoreSql.IncidentsList);
        cmd.Parameters.AddWithValue("since", query.Since);
        cmd.Parameters.AddWithValue("open_only", query.OpenOnly);
        cmd.Parameters.Add(new NpgsqlParameter("severity", NpgsqlDbType.Text) { Value = (object?)query.Severity ?? DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("agent", NpgsqlDbType.Text) { Value = (object?)query.AgentId ?? DBNull.Value });
        cmd.Parameters.AddWithValue("scoped", query.Teams.Count > 0 || query.Owners.Count > 0);
        cmd.Parameters.AddWithValue("teams", query.Teams.ToArray());
        cmd.Parameters.AddWithValue("owners", query.Owners.ToArray());
        cmd.Parameters.Add(new NpgsqlParameter("after_started", NpgsqlDbType.TimestampTz) { Value = query.After is { } a ? a.StartedAt : (object)DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter("after_id", NpgsqlDbType.Uuid) { Value = query.After is { } b ? b.IncidentId : (object)DBNull.Value });
        cmd.Parameters.AddWithValue("limit", query.Limit);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var rows = new List<IncidentRow>();
        while (await r.ReadAsync(ct))
        {
            rows.Add(new IncidentRow(
                r.GetGuid(r.GetOrdinal("incident_id")), r.GetString(r.GetOrdinal("agent_id")), Text(r, "owner"), Text(r, "subject_owner"),
                r.GetString(r.GetOrdinal("severity")), r.GetString(r.GetOrdinal("status")), r.GetBoolean(r.GetOrdinal("is_open")),
                Text(r, "acknowledged_by"), r.GetFieldValue<string[]>(r.GetOrdinal("categories")), r.GetString(r.GetOrdinal("title")),
                r.GetFieldValue<DateTimeOffset>(r.GetOrdinal("started_at")), r.GetFieldValue<DateTimeOffset>(r.GetOrdinal("updated_at")),
                r.GetInt64(r.GetOrdinal("version"))));
        }
        return rows;
    }

    private static string? Text(NpgsqlDataReader r, string column) => r.IsDBNull(r.GetOrdinal(column)) ? null : r.GetString(r.GetOrdinal(column));

    private static NpgsqlParameter Nullable(string name, IEnumerable<string?> values) =>
        new(name, NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = values.Select(v => (object?)v ?? DBNull.Value).ToArray() };
}
