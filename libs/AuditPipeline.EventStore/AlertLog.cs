using System.Text;
using AuditPipeline.Contracts;
using Npgsql;

namespace AuditPipeline.EventStore;

/// <summary>Alert events in the store: appended like any event (one chain per incident), read back by time.</summary>
public sealed class AlertLog(NpgsqlDataSource dataSource, IEventStore store)
{
    /// <summary>Appends alert changes; ids already stored are dropped by the store (replays are harmless).</summary>
    public async Task<AppendResult> AppendAsync(IReadOnlyList<AgentAlert> alerts, string source, CancellationToken ct)
    {
        var events = alerts.Select((a, i) =>
        {
            var payload = ContractJson.SerializeCanonical(a);
            return new IncomingEvent(a.EventId, AgentAlert.StreamOf(a.IncidentId), AgentAlert.TypeName, a.At, payload,
                new SourceMessage(new SourcePosition(source, 0, i), null, payload));
        }).ToList();
        return await store.AppendAsync(events, [], ct);
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

    /// <summary>Latest state of each incident recorded since a time, newest first.</summary>
    public async Task<List<IncidentState>> IncidentsAsync(DateTimeOffset since, CancellationToken ct)
    {
        var changes = await ReadAsync(since, long.MaxValue, ct);
        return changes.GroupBy(c => c.Alert.IncidentId)
            .Select(g => IncidentState.From(g.Select(c => c.Alert).ToList()))
            .OrderByDescending(i => i.Latest.At)
            .ToList();
    }
}

/// <summary>An incident folded from its alert changes.</summary>
public sealed record IncidentState(AgentAlert Opened, AgentAlert Latest, AlertSeverity Severity, bool Open, string? AcknowledgedBy, IReadOnlyList<AgentAlert> Changes)
{
    public static IncidentState From(IReadOnlyList<AgentAlert> changes)
    {
        var opened = changes.FirstOrDefault(c => c.Change == AlertChange.Opened) ?? changes[0];
        var detectorChanges = changes.Where(c => c.Change is AlertChange.Opened or AlertChange.Escalated).ToList();
        var latest = changes[^1];
        return new IncidentState(
            opened,
            latest,
            detectorChanges.Count == 0 ? opened.Severity : detectorChanges.Max(c => c.Severity),
            !changes.Any(c => c.Change is AlertChange.Recovered or AlertChange.Resolved),
            changes.LastOrDefault(c => c.Change == AlertChange.Acknowledged)?.Actor,
            changes);
    }
}
