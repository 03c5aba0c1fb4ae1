using AuditPipeline.Contracts;

namespace AuditPipeline.Soak;

/// <summary>
/// After the faults stop, waits until everything has caught up: every acknowledged event is in
/// the store, ClickHouse and the read models hold as many actions as the store, every injected
/// incident has opened and recovered, and a signed checkpoint covers the last action. Returns
/// what was still behind at the timeout (the checks then run anyway and say what is wrong).
/// </summary>
public sealed class SoakDrain(StoreProbe probe, AckLedger ledger, IReadOnlyList<string> injectedAgents)
{
    public async Task<string?> WaitAsync(TimeSpan timeout, CancellationToken ct)
    {
        string? behind = "nothing checked yet";
        for (var deadline = DateTime.UtcNow + timeout; DateTime.UtcNow < deadline; await Task.Delay(1000, ct))
        {
            try
            {
                behind = await BehindAsync(ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                behind = $"a server did not answer ({ex.Message})";
            }
            if (behind is null)
            {
                return null;
            }
        }
        return behind;
    }

    private async Task<string?> BehindAsync(CancellationToken ct)
    {
        var stored = await probe.StoredActionIdsAsync(ct);
        var missing = ledger.Acknowledged.Keys.Count(id => !stored.ContainsKey(id));
        if (missing > 0)
        {
            return $"{missing} acknowledged events not stored yet";
        }
        var storeTotal = stored.Values.Sum();
        var clickHouse = await probe.ClickHouseRowsAsync(ct);
        var readModel = (await probe.ReadModelCountsPerAgentAsync(ct)).Values.Sum();
        if (clickHouse < storeTotal || readModel < storeTotal)
        {
            return $"projections behind: store {storeTotal} actions, ClickHouse {clickHouse}, read models {readModel}";
        }
        var alerts = await probe.AlertsAsync(ct);
        var notRecovered = injectedAgents.Where(a => !alerts.Any(x => x.AgentId == a && x.Change == AlertChange.Recovered)).ToList();
        if (notRecovered.Count > 0)
        {
            return $"incidents not yet opened and recovered: {string.Join(", ", notRecovered)}";
        }
        var (checkpoint, last) = (await probe.LatestCheckpointSizeAsync(ct), await probe.LastActionPositionAsync(ct));
        return checkpoint < last ? $"latest signed checkpoint covers {checkpoint} of {last} log positions" : null;
    }
}
