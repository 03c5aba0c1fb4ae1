using System.Diagnostics;
using AuditPipeline.Emitter;

namespace AuditPipeline.Soak;

/// <summary>
/// Produces at a steady rate, round-robin over a fleet of agents, events occurring now. Behind
/// schedule (a full local queue while the broker moves leaders) it catches up, so the rate holds
/// on average.
/// </summary>
public sealed class SteadyProducer(string bootstrapServers, string topic, SoakOptions options, AckLedger ledger)
{
    public const string AgentPrefix = "soak-agent";

    public async Task RunAsync(CancellationToken ct)
    {
        var fleet = new SampleFleet(options.Agents, seed: options.Seed, idPrefix: AgentPrefix);
        using var emitter = new TrackedEmitter(bootstrapServers, topic, ledger);
        var clock = Stopwatch.StartNew();
        long sent = 0;
        while (!ct.IsCancellationRequested)
        {
            var due = (long)(clock.Elapsed.TotalSeconds * options.EventsPerSecond);
            for (; sent < due && !ct.IsCancellationRequested; sent++)
            {
                await emitter.EnqueueAsync(fleet.Next(fleet.Agents[(int)(sent % fleet.Agents.Count)], DateTimeOffset.UtcNow));
            }
            try
            {
                await Task.Delay(10, ct);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        // Every event handed to the producer gets its delivery report (acknowledged or failed).
        emitter.Flush(TimeSpan.FromMinutes(2));
    }
}
