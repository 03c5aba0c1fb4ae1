using System.CommandLine;
using AuditPipeline.Core.Store;
using Npgsql;

namespace AuditPipeline.Cli.Commands;

internal static class StoreCommands
{
    public static Command Create()
    {
        var stats = new Command("stats", "Events, agents and quarantined messages in the store");
        stats.SetAction(async (parse, ct) =>
        {
            await using var dataSource = CliSettings.AppDataSource();
            await using var cmd = dataSource.CreateCommand(SqlScripts.Query("store_stats"));
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            Console.WriteLine($"events={reader.GetInt64(0)} agents={reader.GetInt64(1)} quarantined={reader.GetInt64(2)} log_size={reader.GetInt64(3)}");
            return 0;
        });
        return new Command("store", "Event store information") { stats };
    }
}
