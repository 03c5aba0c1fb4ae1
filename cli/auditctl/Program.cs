using System.CommandLine;
using AuditPipeline.Cli.Agents;
using AuditPipeline.Cli.Alerts;
using AuditPipeline.Cli.Keys;
using AuditPipeline.Cli.Db;
using AuditPipeline.Cli.Integrity;
using AuditPipeline.Cli.Projections;
using AuditPipeline.Cli.Retention;
using AuditPipeline.Cli.Simulation;
using AuditPipeline.Cli.Store;
using AuditPipeline.Cli.Subjects;
using AuditPipeline.Cli.Why;
using AuditPipeline.Kafka;

// Quiet: its output is read by people and scripts; a wrong librdkafka still stops it (exit 2).
KafkaNative.LoadOrExit("auditctl", quiet: true);

var root = new RootCommand("auditctl: operate AuditPipeline (schema, verification, sample and simulated agents). "
    + "Read commands take --json for scripts. Exit codes: 0 done or verified; 1 refused, verification failed or not found; "
    + "2 bad input, missing file or key, unreachable database or broker; 3 (why) the answer's integrity is not verified. See docs/operations.md.")
{
    DbCommands.Create(),
    VerifyCommand.Create(),
    CheckpointCommands.Create(),
    ProofCommands.Create(),
    ExportCommand.Create(),
    VerifyBundleCommand.Create(),
    ArchiveCommands.Create(),
    HoldCommands.Create(),
    RetentionCommand.Create(),
    SubjectCommands.Create(),
    WhyCommand.Create(),
    DetectCommand.Create(),
    AlertCommands.Create(),
    KeyCommands.Create(),
    AgentCommands.Create(),
    EmitCommand.Create(),
    SimulateCommand.Create(),
    StoreCommands.Create(),
    ProjectionCommands.CreateClickHouse(),
    ProjectionCommands.CreateProjections(),
};
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0 && parsed.Action is not System.CommandLine.Help.HelpAction)
{
    // Bad input exits 2, as every command's own checks do (CliRun); System.CommandLine would say 1.
    foreach (var error in parsed.Errors)
    {
        Console.Error.WriteLine(error.Message);
    }
    Console.Error.WriteLine("(auditctl --help, or auditctl <command> --help, lists the commands and options)");
    return 2;
}
return await parsed.InvokeAsync();
