using System.CommandLine;
using AuditPipeline.EventStore;

namespace AuditPipeline.Cli.Db;

internal static class DbCommands
{
    public static Command Create()
    {
        var connection = new Option<string?>("--connection") { Description = "Owner connection string (default: Store__AdminConnectionString)" };
        var migrate = new Command("migrate", "Apply the event store's versioned SQL migrations (idempotent)") { connection };
        // A changed migration or an unreachable server is a message and exit 2, not a stack trace.
        migrate.SetAction((parse, ct) => CliRun.Guarded("db migrate", async () =>
        {
            await using var dataSource = CliSettings.AdminDataSource(parse.GetValue(connection));
            var applied = await new SchemaMigrator(dataSource).MigrateAsync(ct);
            Console.WriteLine(applied.Count == 0 ? "schema is up to date" : $"applied: {string.Join(", ", applied)}");
            return 0;
        }));
        return new Command("db", "Event store schema") { migrate };
    }
}
