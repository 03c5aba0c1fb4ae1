using System.Globalization;
using AuditPipeline.IntegrationTests.Infrastructure;
using Xunit;

namespace AuditPipeline.IntegrationTests;

/// <summary>`auditctl detect` as a user runs it: a CSV in, one scored row per input row out.</summary>
[Collection(PipelineCollection.Name)]
public sealed class DetectCommandTests(PipelineFixture fx)
{
    [Theory]
    [InlineData("iid")]
    [InlineData("sr")]
    public async Task Detect_writes_one_scored_row_per_input_row_and_flags_the_spike(string detector)
    {
        var store = await fx.Postgres.CreateStoreAsync();
        var input = Path.GetTempFileName();
        var output = Path.GetTempFileName();
        var random = new Random(8);
        var lines = new List<string> { "timestamp,value" };
        for (var i = 0; i < 300; i++)
        {
            var value = Math.Round(20 + ((random.NextDouble() + random.NextDouble() + random.NextDouble() - 1.5) * 4)) + (i == 220 ? 60 : 0);
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"2026-11-22T{i / 60:00}:{i % 60:00}:00Z,{value}"));
        }
        await File.WriteAllLinesAsync(input, lines);

        var (exit, log) = await fx.AuditctlAsync(store, "detect", "--input", input, "--detector", detector, "--output", output);
        Assert.True(exit == 0, log);
        var rows = (await File.ReadAllLinesAsync(output)).ToList();
        Assert.Equal("timestamp,value,anomaly_score,is_anomaly", rows[0]);
        Assert.Equal(300, rows.Count - 1);
        var parsed = rows.Skip(1).Select(r => r.Split(',')).ToList();
        Assert.All(parsed, p => Assert.InRange(double.Parse(p[2], CultureInfo.InvariantCulture), 0, 1));
        Assert.Equal("1", parsed[220][3]);
        Assert.Equal(lines.Skip(1).Select(l => l.Split(',')[0]), parsed.Select(p => p[0]));

        var (badExit, badLog) = await fx.AuditctlAsync(store, "detect", "--input", input, "--detector", "nope");
        Assert.Equal(2, badExit);
        Assert.Contains("unknown detector", badLog, StringComparison.Ordinal);
        File.Delete(input);
        File.Delete(output);
    }
}
