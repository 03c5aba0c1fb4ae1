using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using AuditPipeline.Integrity.Store;

namespace AuditPipeline.Cli.Integrity;

/// <summary><c>auditctl export</c>: a SOX evidence bundle (docs/integrity.md). Exit 0 written, 2 could not run.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var from = new Option<DateTimeOffset>("--from") { Description = "Events recorded at or after (RFC 3339)", Required = true };
        var to = new Option<DateTimeOffset>("--to") { Description = "Events recorded before (RFC 3339)", Required = true };
        var agents = new Option<string[]>("--agent") { Description = "Only this agent (repeatable); its alerts come along", AllowMultipleArgumentsPerToken = false };
        var owners = new Option<string[]>("--owner") { Description = "Only agents of this owner (repeatable)" };
        var output = new Option<string>("--out") { Description = "Folder to write the bundle to (must not exist or be empty)", Required = true };
        var command = new Command("export",
            "Write a SOX evidence bundle: events, why-authorized chains, inclusion proofs against a fresh signed checkpoint, manifest (signed), HTML and CSV summary")
        {
            from, to, agents, owners, output,
        };
        command.SetAction((parse, ct) => CliRun.Guarded("export", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            var integrity = CliSettings.Integrity();
            using var signer = integrity.LoadSigner();
            var sinks = CheckpointService.SinksFrom(integrity, CliSettings.Kafka());
            var request = new ExportRequest(parse.GetValue(from), parse.GetValue(to), parse.GetValue(agents) ?? [], parse.GetValue(owners) ?? [],
                $"auditctl@{Environment.MachineName}");
            var clock = Stopwatch.StartNew();
            try
            {
                var exporter = new BundleExporter(ds, new CheckpointService(ds, signer, sinks, earlierKeys: CliSettings.Integrity().LoadTrustedKeys(signer)), signer);
                var result = await CliProgress.RunAsync("export", "events", knownTotal: true,
                    progress => exporter.ExportAsync(request, parse.GetValue(output)!, progress, ct));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"export: {result.Events} events in {result.Directory} ({result.Bytes / 1e6:0.0} MB) in {clock.Elapsed.TotalSeconds:0.0}s, proven against checkpoint {result.Checkpoint.Size} (root {result.Checkpoint.RootHash}, key {result.Checkpoint.KeyId}); peak memory {TrustOptions.PeakRssMb():0} MB"));
            }
            finally
            {
                TrustOptions.DisposeAll(sinks);
            }
            return 0;
        }));
        return command;
    }
}
