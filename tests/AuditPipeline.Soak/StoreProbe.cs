using System.Globalization;
using AuditPipeline.ClickHouse;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using Npgsql;

namespace AuditPipeline.Soak;

/// <summary>Reads what the store, the read models and ClickHouse hold, the way an operator's queries would.</summary>
public sealed class StoreProbe(SoakServers servers, HttpClient http) : IAsyncDisposable
{
    private readonly NpgsqlDataSource _admin = servers.Store.AdminDataSource();
    private readonly ClickHouseClient _clickHouse = new(http, new Uri(servers.ClickHouseUrl));

    /// <summary>How many rows each action event id has in the store (count by event_id, not the id table: a second row would be a duplicate).</summary>
    public async Task<Dictionary<Guid, long>> StoredActionIdsAsync(CancellationToken ct)
    {
        var ids = new Dictionary<Guid, long>();
        await using var cmd = _admin.CreateCommand("SELECT event_id, count(*) FROM audit.events WHERE event_type = $1 GROUP BY event_id");
        cmd.Parameters.AddWithValue(AgentActionOccurred.TypeName);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            ids[reader.GetGuid(0)] = reader.GetInt64(1);
        }
        return ids;
    }

    public Task<Dictionary<string, long>> StoreCountsPerAgentAsync(CancellationToken ct) =>
        CountsAsync($"SELECT stream_id, count(*) FROM audit.events WHERE event_type = '{AgentActionOccurred.TypeName}' GROUP BY stream_id", ct);

    public Task<Dictionary<string, long>> ReadModelCountsPerAgentAsync(CancellationToken ct) =>
        CountsAsync("SELECT agent_id, actions FROM audit_read.agents", ct);

    public async Task<HashSet<Guid>> ReadModelAuthorizationIdsAsync(CancellationToken ct)
    {
        var ids = new HashSet<Guid>();
        await using var cmd = _admin.CreateCommand("SELECT event_id FROM audit_read.authorizations");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            ids.Add(reader.GetGuid(0));
        }
        return ids;
    }

    public async Task<long> ScalarAsync(string sql, CancellationToken ct)
    {
        await using var cmd = _admin.CreateCommand(sql);
        return await cmd.ExecuteScalarAsync(ct) is { } value and not DBNull ? Convert.ToInt64(value, CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>Highest log position of an action event: a checkpoint at or above it covers every event produced.</summary>
    public Task<long> LastActionPositionAsync(CancellationToken ct) =>
        ScalarAsync($"SELECT max(global_seq) FROM audit.events WHERE event_type = '{AgentActionOccurred.TypeName}'", ct);

    public async Task<long> LatestCheckpointSizeAsync(CancellationToken ct) =>
        (await new AuditPipeline.Integrity.Store.CheckpointLog(_admin).LatestAsync(ct))?.Size ?? 0;

    public async Task<List<AgentAlert>> AlertsAsync(CancellationToken ct) =>
        [.. (await new AlertLog(_admin, new PostgresEventStore(_admin, TimeProvider.System)).ReadAsync(DateTimeOffset.MinValue, long.MaxValue, ct)).Select(a => a.Alert)];

    /// <summary>Per agent: rows in agent_actions and distinct event ids among them.</summary>
    public async Task<Dictionary<string, (long Rows, long Ids)>> ClickHouseCountsPerAgentAsync(CancellationToken ct)
    {
        var tsv = await _clickHouse.QueryAsync("SELECT agent_id, count(), uniqExact(event_id) FROM agent_actions GROUP BY agent_id FORMAT TSV", ct);
        return Lines(tsv).ToDictionary(p => p[0], p => (long.Parse(p[1], CultureInfo.InvariantCulture), long.Parse(p[2], CultureInfo.InvariantCulture)));
    }

    public async Task<long> ClickHouseRowsAsync(CancellationToken ct) =>
        long.Parse((await _clickHouse.QueryAsync("SELECT count() FROM agent_actions FORMAT TSV", ct)).Trim(), CultureInfo.InvariantCulture);

    public async Task<HashSet<Guid>> ClickHouseIdsAsync(CancellationToken ct) =>
        [.. Lines(await _clickHouse.QueryAsync("SELECT DISTINCT event_id FROM agent_actions FORMAT TSV", ct)).Select(p => Guid.Parse(p[0]))];

    /// <summary>Actions per agent, minute and decision: the store's and ClickHouse's agent_minute_counts (what the API's charts read).</summary>
    public Task<Dictionary<string, long>> StoreMinuteCountsAsync(CancellationToken ct) =>
        CountsAsync($"""
            SELECT stream_id || '|' || extract(epoch FROM date_trunc('minute', occurred_at))::bigint || '|' || (payload->'authorization'->>'decision'), count(*)
            FROM audit.events WHERE event_type = '{AgentActionOccurred.TypeName}' GROUP BY 1
            """, ct);

    public async Task<Dictionary<string, long>> ClickHouseMinuteCountsAsync(CancellationToken ct) =>
        Lines(await _clickHouse.QueryAsync(
            "SELECT concat(agent_id, '|', toString(toUInt32(minute)), '|', decision), sum(actions) FROM agent_minute_counts GROUP BY agent_id, minute, decision FORMAT TSV", ct))
            .ToDictionary(p => p[0], p => long.Parse(p[1], CultureInfo.InvariantCulture));

    /// <summary>Actions per agent and resource: the store's and ClickHouse's agent_resources.</summary>
    public Task<Dictionary<string, long>> StoreResourceCountsAsync(CancellationToken ct) =>
        CountsAsync($"SELECT stream_id || '|' || (payload->'action'->'resource'->>'id'), count(*) FROM audit.events WHERE event_type = '{AgentActionOccurred.TypeName}' GROUP BY 1", ct);

    public async Task<Dictionary<string, long>> ClickHouseResourceCountsAsync(CancellationToken ct) =>
        Lines(await _clickHouse.QueryAsync(
            "SELECT concat(agent_id, '|', resource_id), countMerge(actions) FROM agent_resources GROUP BY agent_id, resource_id FORMAT TSV", ct))
            .ToDictionary(p => p[0], p => long.Parse(p[1], CultureInfo.InvariantCulture));

    private async Task<Dictionary<string, long>> CountsAsync(string sql, CancellationToken ct)
    {
        var counts = new Dictionary<string, long>();
        await using var cmd = _admin.CreateCommand(sql);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }
        return counts;
    }

    private static IEnumerable<string[]> Lines(string tsv) =>
        tsv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t'));

    public ValueTask DisposeAsync() => _admin.DisposeAsync();
}
