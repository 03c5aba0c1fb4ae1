using System.CommandLine;
using AuditPipeline.Cli.Commands;
using AuditPipeline.Kafka;

// Quiet: its output is read by people and scripts; a wrong librdkafka still stops it (exit 2).
KafkaNative.LoadOrExit("auditctl", quiet: true);

var root = new RootCommand("auditctl: operate AuditPipeline (schema, verification, sample and simulated agents)")
{
    DbCommands.Create(),
    VerifyCommand.Create(),
    IntegrityCommands.CreateCheckpoint(),
    IntegrityCommands.CreateProof(),
    IntegrityCommands.CreateExport(),
    IntegrityCommands.CreateVerifyBundle(),
    RetentionCommands.CreateArchive(),
    RetentionCommands.CreateHold(),
    RetentionCommands.CreateRetention(),
    SubjectCommands.Create(),
    WhyCommand.Create(),
    DetectCommand.Create(),
    AlertCommands.Create(),
    KeyCommands.Create(),
    AgentCommands.Create(),
    EmitCommands.CreateEmit(),
    EmitCommands.CreateSimulate(),
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
