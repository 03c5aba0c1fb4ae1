using System.CommandLine;
using AuditPipeline.Cli.Commands;

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
return await root.Parse(args).InvokeAsync();
