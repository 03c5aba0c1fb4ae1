using System.Text;
using AuditPipeline.Contracts;
using Npgsql;

namespace AuditPipeline.EventStore;

/// <summary>What appending detector output did: how many changes were new, how many were already stored.</summary>
public sealed record AlertAppendResult(int Appended, int Duplicates);

/// <summary>What a person's acknowledge or resolve came to.</summary>
public abstract record IncidentChangeOutcome
{
    private IncidentChangeOutcome() { }

    /// <summary>Appended at the version the incident was read at; <see cref="After"/> is the incident with it.</summary>
    public sealed record Changed(IncidentState After, AgentAlert Change) : IncidentChangeOutcome;

    /// <summary>The transition is not allowed (the incident is closed): nothing written.</summary>
    public sealed record Refused(IncidentState Incident, string Reason) : IncidentChangeOutcome;

    /// <summary>The incident changed since it was read (another person or a detector appended first): nothing written.</summary>
    public sealed record Conflict(IncidentState Incident, long ActualVersion) : IncidentChangeOutcome;
}

/// <summary>
/// Alert events in the store, one stream per incident (<see cref="AgentAlert.StreamOf"/>). Detector
/// output is appended without an expected version (the detector is the stream's only writer for its
/// changes, and replays are dropped by event id); a person's change is appended at the version the
/// incident was read at, so of two people acting on the same state only the first is recorded.
/// </summary>
public sealed class AlertLog(NpgsqlDataSource dataSource, IStreamWriter store)
{
    /// <summary>Appends detector changes, one stream append per incident, in the order given; ids already stored are dropped.</summary>
    public async Task<AlertAppendResult> AppendAsync(IReadOnlyList<AgentAlert> alerts, CancellationToken ct)
    {
        var (appended, duplicates) = (0, 0);
        foreach (var incident in alerts.GroupBy(a => a.IncidentId))
        {
            var result = await store.AppendToStreamAsync(AgentAlert.StreamOf(incident.Key), ExpectedVersion.Any, [.. incident.Select(ToEvent)], ct);
            appended += result.Appended;
            duplicates += result.Duplicates;
        }
        return new AlertAppendResult(appended, duplicates);
    }

    /// <summary>An incident folded from its whole stream (no look-back), or null when there is no such incident.</summary>
    public async Task<IncidentState?> LoadAsync(Guid incidentId, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(StoreSql.ReadStream);
        cmd.Parameters.AddWithValue("stream", AgentAlert.StreamOf(incidentId));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var changes = new List<AgentAlert>();
        long version = 0;
        while (await reader.ReadAsync(ct))
        {
            version = reader.GetInt64(reader.GetOrdinal("version"));
            changes.Add(ContractJson.DeserializeAlert(Encoding.UTF8.GetBytes(reader.GetString(reader.GetOrdinal("payload")))));
        }
        return changes.Count == 0 ? null : IncidentState.From(changes, version);
    }

    /// <summary>
    /// A person's acknowledge or resolve of <paramref name="incident"/> as it was read: validated,
    /// then appended expecting the version it was read at.
    /// </summary>
    public async Task<IncidentChangeOutcome> ChangeAsync(
        IncidentState incident, AlertChange change, string actor, string? note, DateTimeOffset at, CancellationToken ct)
    {
        if (incident.Refusal(change) is { } reason)
        {
            return new IncidentChangeOutcome.Refused(incident, reason);
        }
        var alert = incident.PersonChange(change, actor, note, at);
        try
        {
            await store.AppendToStreamAsync(AgentAlert.StreamOf(incident.IncidentId), ExpectedVersion.Exactly(incident.Version), [ToEvent(alert)], ct);
        }
        catch (WrongExpectedVersionException conflict)
        {
            return new IncidentChangeOutcome.Conflict(incident, conflict.Actual);
        }
        return new IncidentChangeOutcome.Changed(incident.With(alert), alert);
    }

    /// <summary>Alert events recorded since <paramref name="since"/>, up to a log position, in log order.</summary>
    public async Task<List<(long Position, AgentAlert Alert)>> ReadAsync(DateTimeOffset since, long upTo, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(StoreSql.ReadAlertEvents);
        cmd.Parameters.AddWithValue("since", since);
        cmd.Parameters.AddWithValue("upto", upTo);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var result = new List<(long, AgentAlert)>();
        while (await reader.ReadAsync(ct))
        {
            result.Add((reader.GetInt64(0), ContractJson.DeserializeAlert(Encoding.UTF8.GetBytes(reader.GetString(1)))));
        }
        return result;
    }

    private static NewStreamEvent ToEvent(AgentAlert alert) =>
        new(alert.EventId, AgentAlert.TypeName, alert.At, ContractJson.SerializeCanonical(alert));
}
