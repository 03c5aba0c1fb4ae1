using System.Globalization;
using AuditPipeline.Kafka;
using AuditPipeline.Soak;

// bench/soak: the CI fault soak (tests/AuditPipeline.IntegrationTests/SoakTests) run for longer,
// default 600 s of faults; the first argument or SOAK_SECONDS sets it, SOAK_SEED repeats a run.
// Prints what the checks found, and as its last line the soak summary. Exit 0 only when every
// check passed.
KafkaNative.LoadOrExit("bench/soak");
var options = SoakOptions.FromEnvironment(defaultDuration: TimeSpan.FromSeconds(600));
if (args.FirstOrDefault() is { } seconds)
{
    options = options with { Duration = TimeSpan.FromSeconds(int.Parse(seconds, CultureInfo.InvariantCulture)) };
}
var report = await SoakRun.RunAsync(options, Console.WriteLine);
foreach (var line in report.Details())
{
    Console.WriteLine(line);
}
Console.WriteLine(report.Summary);
return report.Passed ? 0 : 1;
