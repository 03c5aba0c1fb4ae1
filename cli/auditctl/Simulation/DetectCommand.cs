using System.CommandLine;
using System.Globalization;
using AuditPipeline.Detectors;

namespace AuditPipeline.Cli.Simulation;

/// <summary>
/// Backtesting: run a detector over a recorded `timestamp,value` series. Exit 0 scored, 2 bad
/// input (unknown detector, missing file, a bad row).
/// </summary>
internal static class DetectCommand
{
    public static Command Create()
    {
        var input = new Option<FileInfo>("--input") { Description = "CSV with columns timestamp,value (a header line is optional)", Required = true };
        var detector = new Option<string>("--detector") { Description = "iid (kernel-density p-value), sr (spectral residual), or combined (deseasonalized, gated, both tests: what the service pages on)", Required = true };
        var output = new Option<FileInfo?>("--output") { Description = "Where to write timestamp,value,anomaly_score,is_anomaly (default: standard output)" };
        var command = new Command("detect", "Score a recorded series with a volume detector; one output row per input row") { input, detector, output, JsonOutput.Flag };
        command.SetAction((parse, ct) => CliRun.Guarded("detect", async () =>
        {
            var name = parse.GetValue(detector);
            IStreamingDetector? chosen = name switch
            {
                "iid" => new IidSpikeDetector(),
                "sr" => new SpectralResidualDetector(),
                _ => null,
            };
            var combined = name == "combined" ? new CountSeriesScorer(new DetectorOptions()) : null;
            if (chosen is null && combined is null)
            {
                Console.Error.WriteLine($"unknown detector '{name}'; known: iid, sr, combined");
                return 2;
            }
            var file = parse.GetValue(input)!;
            if (!file.Exists)
            {
                Console.Error.WriteLine($"{file.FullName} does not exist");
                return 2;
            }
            var target = parse.GetValue(output);
            var json = parse.GetValue(JsonOutput.Flag);
            await using var writer = target is null ? Console.Out : new StreamWriter(target.FullName);
            // With --json the rows are collected and written as one array where the CSV would go.
            var rows = new List<object>();
            if (!json)
            {
                await writer.WriteLineAsync("timestamp,value,anomaly_score,is_anomaly");
            }
            var lineNumber = 0;
            foreach (var line in await File.ReadAllLinesAsync(file.FullName, ct))
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }
                var parts = line.Split(',');
                if (parts.Length != 2 || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
                {
                    if (lineNumber == 1)
                    {
                        continue; // a header
                    }
                    Console.Error.WriteLine($"{file.Name}:{lineNumber}: expected 'timestamp,value' with a finite number, got '{(line.Length > 80 ? line[..80] + "…" : line)}'");
                    return 2;
                }
                Detection result;
                if (combined is not null)
                {
                    // The combined detector needs time (for the daily shape): the row's timestamp, else one minute per row.
                    var minute = DateTimeOffset.TryParse(parts[0], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
                        ? Minutes.Of(at)
                        : lineNumber;
                    var s = combined.Close(minute, value);
                    result = new Detection(value, s.Score, s.Anomalous);
                }
                else
                {
                    result = chosen!.Next(value);
                }
                if (json)
                {
                    rows.Add(new { Timestamp = parts[0], Value = value, AnomalyScore = double.IsFinite(result.Score) ? Math.Round(result.Score, 6) : (double?)null, result.IsAnomaly });
                    continue;
                }
                await writer.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{parts[0]},{parts[1]},{result.Score:0.######},{(result.IsAnomaly ? 1 : 0)}"));
            }
            if (json)
            {
                await writer.WriteLineAsync(System.Text.Json.JsonSerializer.Serialize(rows, JsonOutput.Options));
            }
            return 0;
        }));
        return command;
    }
}
