using AuditPipeline.Soak;
using Xunit;
using Xunit.Abstractions;

namespace AuditPipeline.IntegrationTests;

/// <summary>
/// The fault soak in CI (issue 15): SOAK_SECONDS of steady production (default 120) while
/// ingest, the projector, the detectors and the API are SIGKILLed, PostgreSQL and ClickHouse
/// restarted and partition leaders moved, at random (SOAK_SEED repeats a run). Its own servers:
/// it stops them, so it shares none with other tests. bench/soak runs the same for longer.
/// </summary>
[Trait("Category", "Soak")]
public sealed partial class SoakTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Under_random_kills_restarts_and_leader_moves_every_acknowledged_event_is_stored_once_and_every_view_agrees()
    {
        var report = await SoakRun.RunAsync(SoakOptions.FromEnvironment(defaultDuration: TimeSpan.FromSeconds(120)), output.WriteLine);
        foreach (var line in report.Details())
        {
            output.WriteLine(line);
        }
        output.WriteLine(report.Summary);
        var found = report.Findings;

        Assert.All(Enum.GetValues<Fault>(), f => Assert.True(report.Faults[f] > 0, $"the soak never injected {f}: run it longer"));
        Assert.True(report.Acknowledged > 0.9 * report.Produced, $"only {report.Acknowledged} of {report.Produced} events were acknowledged");
        Assert.Null(found.DrainBehind);
        Assert.Empty(found.Lost);
        Assert.Empty(found.Duplicated);
        Assert.True(found.ChainVerify.ExitCode == 0, found.ChainVerify.Output);
        Assert.Contains("verify: OK", found.ChainVerify.Output, StringComparison.Ordinal);
        Assert.True(found.CheckpointVerify.ExitCode == 0, found.CheckpointVerify.Output);
        Assert.True(found.LatestCheckpointSize >= found.LastActionPosition,
            $"the latest checkpoint covers {found.LatestCheckpointSize} positions, the last action is at {found.LastActionPosition}");
        Assert.Empty(found.ClickHouseMismatches);
        Assert.Empty(found.ReadModelMismatches);
        Assert.Equal(report.Options.Incidents, report.IncidentsInjected);
        Assert.Empty(found.IncidentProblems);
        Assert.Equal(report.IncidentsInjected, found.IncidentsRaised);
        Assert.Empty(found.ApiProblems);
        Assert.Empty(found.UnexpectedExits);
    }
}
