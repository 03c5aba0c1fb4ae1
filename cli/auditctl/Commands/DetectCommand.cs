using System.CommandLine;
using System.Globalization;
using AuditPipeline.Detectors;

namespace AuditPipeline.Cli.Commands;

/// <summary>Backtesting: run a detector over a recorded `timestamp,value` series.</summary>
internal static class DetectCommand
{
    public static Command Create()
    {
        var input = new Option<FileInfo>("--input") { Description = "CSV with columns timestamp,value (a header line is optional)", Required = true };
        var detector = new Option<string>("--detector") { Description = "iid (kernel-density p-value) or sr (spectral residual)", Required = true };
        var output = new Option<FileInfo?>("--output") { Description = "Where to write timestamp,value,anomaly_score,is_anomaly (default: standard output)" };
        var command = new Command("detect", "Score a recorded series with a volume detector; one output row per input row") { input, detector, output };
        command.SetAction(async (parse, ct) =>
        {
            IStreamingDetector? chosen = parse.GetValue(detector) switch
            {
                "iid" => new IidSpikeDetector(),
                "sr" => new SpectralResidualDetector(),
                _ => null,
            };
            if (chosen is null)
            {
                Console.Error.WriteLine($"unknown detector '{parse.GetValue(detector)}'; known: iid, sr");
                return 2;
            }
            var file = parse.GetValue(input)!;
            if (!file.Exists)
            {
                Console.Error.WriteLine($"{file.FullName} does not exist");
                return 2;
            }
            var target = parse.GetValue(output);
            await using var writer = target is null ? Console.Out : new StreamWriter(target.FullName);
            await writer.WriteLineAsync("timestamp,value,anomaly_score,is_anomaly");
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
                var result = chosen.Next(value);
                await writer.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{parts[0]},{parts[1]},{result.Score:0.######},{(result.IsAnomaly ? 1 : 0)}"));
            }
            return 0;
        });
        return command;
    }
}
