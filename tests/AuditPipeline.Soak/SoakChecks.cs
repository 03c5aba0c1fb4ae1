using AuditPipeline.Contracts;
using AuditPipeline.Testing;

namespace AuditPipeline.Soak;

/// <summary>
/// The end-of-soak checks, through the real paths: the store counted by event id against the
/// acknowledged ids, <c>auditctl verify</c> (every hash chain) and <c>auditctl checkpoint
/// verify</c> (every signed checkpoint against the log, pinned to the soak's public key),
/// ClickHouse and the read models against the store per agent, the incidents per injected
/// agent, and the restarted query API answering an authenticated query with the store's numbers.
/// </summary>
public sealed class SoakChecks(SoakServers servers, StoreProbe probe, ApiProbe api, AckLedger ledger, TimeSpan? apiTimeout = null)
{
    private readonly TimeSpan _apiTimeout = apiTimeout ?? TimeSpan.FromSeconds(60);

    public async Task<SoakFindings> RunAsync(IReadOnlyList<string> injectedAgents, IReadOnlyList<string> unexpectedExits, string? drainBehind, CancellationToken ct)
    {
        var stored = await probe.StoredActionIdsAsync(ct);
        var acknowledged = ledger.Acknowledged;
        var storeCounts = await probe.StoreCountsPerAgentAsync(ct);
        var (incidentProblems, raised) = CheckIncidents(await probe.AlertsAsync(ct), injectedAgents);
        return new SoakFindings
        {
            Lost = [.. acknowledged.Keys.Where(id => !stored.ContainsKey(id))],
            Duplicated = [.. stored.Where(s => s.Value > 1).Select(s => s.Key)],
            StoredUnacknowledged = stored.Keys.Count(id => !acknowledged.ContainsKey(id)),
            ChainVerify = await AuditctlAsync(ct, "verify"),
            CheckpointVerify = await AuditctlAsync(ct, "checkpoint", "verify", "--trusted-key", servers.TrustedKeyFile),
            LatestCheckpointSize = await probe.LatestCheckpointSizeAsync(ct),
            LastActionPosition = await probe.LastActionPositionAsync(ct),
            ClickHouseMismatches = await CheckClickHouseAsync(storeCounts, [.. stored.Keys], ct),
            ReadModelMismatches = await CheckReadModelsAsync(storeCounts, [.. stored.Keys], ct),
            IncidentProblems = incidentProblems,
            IncidentsRaised = raised,
            ApiProblems = await CheckApiAsync(storeCounts, ct),
            UnexpectedExits = unexpectedExits,
            DrainBehind = drainBehind,
        };
    }

    private async Task<List<string>> CheckClickHouseAsync(Dictionary<string, long> storeCounts, HashSet<Guid> storeIds, CancellationToken ct)
    {
        var problems = new List<string>();
        var perAgent = await probe.ClickHouseCountsPerAgentAsync(ct);
        foreach (var agent in storeCounts.Keys.Union(perAgent.Keys).Order(StringComparer.Ordinal))
        {
            var expected = storeCounts.GetValueOrDefault(agent);
            var (rows, ids) = perAgent.GetValueOrDefault(agent);
            if (rows != expected || ids != expected)
            {
                problems.Add($"{agent}: store {expected} actions, agent_actions {rows} rows with {ids} distinct ids");
            }
        }
        problems.AddRange(Differences("agent_minute_counts (agent|minute|decision)", await probe.StoreMinuteCountsAsync(ct), await probe.ClickHouseMinuteCountsAsync(ct)));
        problems.AddRange(Differences("agent_resources (agent|resource)", await probe.StoreResourceCountsAsync(ct), await probe.ClickHouseResourceCountsAsync(ct)));
        var clickHouseIds = await probe.ClickHouseIdsAsync(ct);
        if (!clickHouseIds.SetEquals(storeIds))
        {
            problems.Add($"event id sets differ: {storeIds.Except(clickHouseIds).Count()} only in the store, {clickHouseIds.Except(storeIds).Count()} only in ClickHouse");
        }
        return problems;
    }

    private static IEnumerable<string> Differences(string table, Dictionary<string, long> store, Dictionary<string, long> clickHouse)
    {
        var differing = store.Keys.Union(clickHouse.Keys).Where(k => store.GetValueOrDefault(k) != clickHouse.GetValueOrDefault(k)).Order(StringComparer.Ordinal).ToList();
        return differing.Count == 0 ? [] :
            [$"{table}: {differing.Count} of {store.Count} keys differ from the store, e.g. " +
             string.Join(", ", differing.Take(3).Select(k => $"{k} store {store.GetValueOrDefault(k)} ClickHouse {clickHouse.GetValueOrDefault(k)}"))];
    }

    private async Task<List<string>> CheckReadModelsAsync(Dictionary<string, long> storeCounts, HashSet<Guid> storeIds, CancellationToken ct)
    {
        var problems = new List<string>();
        var agents = await probe.ReadModelCountsPerAgentAsync(ct);
        foreach (var agent in storeCounts.Keys.Union(agents.Keys).Order(StringComparer.Ordinal))
        {
            if (storeCounts.GetValueOrDefault(agent) != agents.GetValueOrDefault(agent))
            {
                problems.Add($"{agent}: store {storeCounts.GetValueOrDefault(agent)} actions, audit_read.agents {agents.GetValueOrDefault(agent)}");
            }
        }
        var authorizations = await probe.ReadModelAuthorizationIdsAsync(ct);
        if (!authorizations.SetEquals(storeIds))
        {
            problems.Add($"audit_read.authorizations ids differ from the store's: {storeIds.Except(authorizations).Count()} missing, {authorizations.Except(storeIds).Count()} extra");
        }
        return problems;
    }

    /// <summary>One incident per injected agent, opened once; none for the steady agents.</summary>
    private static (List<string> Problems, int Raised) CheckIncidents(List<AgentAlert> alerts, IReadOnlyList<string> injectedAgents)
    {
        var problems = new List<string>();
        var incidents = alerts.GroupBy(a => a.IncidentId).ToList();
        foreach (var agent in injectedAgents)
        {
            var own = incidents.Where(i => i.First().AgentId == agent).ToList();
            var opened = own.Sum(i => i.Count(a => a.Change == AlertChange.Opened));
            if (own.Count != 1 || opened != 1)
            {
                var changes = alerts.Where(a => a.AgentId == agent).Select(a => $"{a.Change} {a.IncidentId} started {a.StartedAt:HH:mm} at {a.At:HH:mm}");
                problems.Add($"{agent} was injected once and has {own.Count} incidents, opened {opened} times: {string.Join("; ", changes)}");
            }
        }
        foreach (var incident in incidents.Where(i => !injectedAgents.Contains(i.First().AgentId)))
        {
            problems.Add($"incident {incident.Key} of {incident.First().AgentId}, which nobody injected: {incident.First().Title}");
        }
        return (problems, incidents.Count);
    }

    private async Task<List<string>> CheckApiAsync(Dictionary<string, long> storeCounts, CancellationToken ct)
    {
        if (!await api.WaitHealthyAsync(_apiTimeout))
        {
            return [$"/health did not answer 200 within {_apiTimeout.TotalSeconds:0} s"];
        }
        var (status, agents) = await api.AgentsAsync(ct);
        if (status != 200)
        {
            return [$"GET /v1/agents answered {status}"];
        }
        var answered = agents.ToDictionary(a => a.AgentId, a => a.Actions);
        return [.. storeCounts.Keys.Union(answered.Keys).Order(StringComparer.Ordinal)
            .Where(a => storeCounts.GetValueOrDefault(a) != answered.GetValueOrDefault(a))
            .Select(a => $"GET /v1/agents says {a} has {answered.GetValueOrDefault(a)} actions, the store {storeCounts.GetValueOrDefault(a)}")];
    }

    private async Task<(int ExitCode, string Output)> AuditctlAsync(CancellationToken ct, params string[] args)
    {
        ct.ThrowIfCancellationRequested();
        return await ChildProcess.RunDotnetAsync(RepoPaths.AuditctlDll, new Dictionary<string, string>
        {
            ["Store__ConnectionString"] = servers.Store.ConnectionString(ServiceRole.Ops),
            ["Store__AdminConnectionString"] = servers.Store.AdminConnectionString,
            ["Kafka__BootstrapServers"] = servers.Kafka.BootstrapServers,
        }, args);
    }
}
