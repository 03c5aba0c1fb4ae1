using System.Diagnostics;

namespace AuditPipeline.Soak;

/// <summary>
/// The fault soak (issue 15): start the servers and the four services, produce steadily while
/// the fault injector kills and restarts things and the incident injector adds runaways at known
/// times; then stop the faults, let everything drain and check. Used by SoakTests (CI, a couple
/// of minutes) and bench/soak (longer).
/// </summary>
public static class SoakRun
{
    public static async Task<SoakReport> RunAsync(SoakOptions options, Action<string> log)
    {
        log($"soak: seed {options.Seed}, {options.Duration.TotalSeconds:0} s of faults, {options.EventsPerSecond} events/s, {options.Incidents} incidents");
        await using var servers = await SoakServers.StartAsync(options);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await using var probe = new StoreProbe(servers, http);
        var ledger = new AckLedger();
        await using var services = PipelineServices.Start(servers);
        var api = new ApiProbe(services.ApiBaseUrl, http);
        await api.CreateKeyAsync(servers);
        if (!await api.WaitHealthyAsync(TimeSpan.FromSeconds(60)))
        {
            throw new InvalidOperationException("The query API did not start:\n" + services.Api.History());
        }

        using var stopWatching = new CancellationTokenSource();
        var watchdog = services.WatchAsync(stopWatching.Token);
        var producer = new SteadyProducer(servers.Kafka.BootstrapServers, SoakServers.Topic, options, ledger);
        var incidents = new IncidentInjector(servers.Kafka.BootstrapServers, SoakServers.Topic, options, ledger, log);
        var faults = new FaultInjector(servers, services, options, log);
        var window = Stopwatch.StartNew();
        using (var stop = new CancellationTokenSource(options.Duration))
        {
            await Task.WhenAll(producer.RunAsync(stop.Token), incidents.RunAsync(stop.Token), faults.RunAsync(stop.Token));
        }
        window.Stop();
        log($"soak: faults stopped after {window.Elapsed.TotalSeconds:0} s; {ledger.AcknowledgedCount} of {ledger.Produced} events acknowledged; draining");

        var injected = incidents.Injected.Select(i => i.Agent).ToList();
        var drained = Stopwatch.StartNew();
        var behind = await new SoakDrain(probe, ledger, injected).WaitAsync(options.DrainTimeout, default);
        log($"soak: {(behind is null ? "drained" : "NOT drained: " + behind)} after {drained.Elapsed.TotalSeconds:0} s; checking");
        await stopWatching.CancelAsync();
        await watchdog;
        var findings = await new SoakChecks(servers, probe, api, ledger).RunAsync(injected, services.UnexpectedExits, behind, default);
        if (findings.Problems().Count > 0 || options.LogDirectory is not null)
        {
            var directory = options.LogDirectory ?? Path.Combine(Path.GetTempPath(), $"ap-soak-logs-{options.Seed}");
            await services.WriteLogsAsync(directory);
            log($"soak: the services' output, every incarnation, is in {directory}");
        }
        return new SoakReport(options, window.Elapsed, ledger.Produced, ledger.AcknowledgedCount, ledger.Failures,
            faults.Counts, faults.LeaderMoves, injected.Count, findings);
    }
}
