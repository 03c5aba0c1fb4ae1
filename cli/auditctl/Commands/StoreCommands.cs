using System.CommandLine;
using AuditPipeline.EventStore;
using Npgsql;

namespace AuditPipeline.Cli.Commands;

internal static class StoreCommands
{
    public static Command Create()
    {
        var stats = new Command("stats", "Events, agents and quarantined messages in the store");
        stats.SetAction((parse, ct) => CliRun.Guarded("store stats", async () =>
        {
            await using var dataSource = CliSettings.AppDataSource();
            await using var cmd = dataSource.CreateCommand(StoreSql.StoreStats);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            Console.WriteLine($"events={reader.GetInt64(0)} agents={reader.GetInt64(1)} quarantined={reader.GetInt64(2)} log_size={reader.GetInt64(3)}");
            return 0;
        }));
        var limit = new Option<int>("--limit") { Description = "Most recent entries to show (1-1000)", DefaultValueFactory = _ => 20 };
        var quarantine = new Command("quarantine", "Most recent quarantined messages with their reasons (#id first; `replay` sends them back through ingest)") { limit, QuarantineReplayCommand.Create() };
        quarantine.SetAction((parse, ct) => CliRun.Guarded("store quarantine", async () =>
        {
            var n = parse.GetValue(limit);
            if (n is < 1 or > 1000)
            {
                Console.Error.WriteLine("--limit must be between 1 and 1000");
                return 2;
            }
            await using var dataSource = CliSettings.AppDataSource();
            await using var cmd = dataSource.CreateCommand(StoreSql.ListQuarantine);
            cmd.Parameters.AddWithValue("limit", n);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                Console.WriteLine($"#{reader.GetInt64(6)} {reader.GetFieldValue<DateTimeOffset>(0):u} {reader.GetString(1)}[{reader.GetInt32(2)}]@{reader.GetInt64(3)} {reader.GetString(4)}: {reader.GetString(5)}");
            }
            return 0;
        }));
        var subscriptions = new Command("subscriptions", "Each subscription's checkpoint and lag (events and seconds behind the log head)");
        subscriptions.SetAction((parse, ct) => CliRun.Guarded("store subscriptions", async () =>
        {
            await using var dataSource = CliSettings.AppDataSource();
            await using var cmd = dataSource.CreateCommand(StoreSql.ReadSubscriptionLag);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            var any = false;
            while (await reader.ReadAsync(ct))
            {
                any = true;
                var (position, head) = (reader.GetInt64(1), reader.GetInt64(2));
                var behindSeconds = reader.IsDBNull(4) ? 0 : Math.Max(0, (DateTimeOffset.UtcNow - reader.GetFieldValue<DateTimeOffset>(4)).TotalSeconds);
                Console.WriteLine($"{reader.GetString(0)}: position={position} head={head} lag_events={head - position} lag_seconds={behindSeconds:0.0} checkpoint_at={reader.GetFieldValue<DateTimeOffset>(3):u}");
            }
            if (!any)
            {
                Console.WriteLine("no subscriptions have a checkpoint yet");
            }
            return 0;
        }));
        return new Command("store", "Event store information") { stats, quarantine, subscriptions };
    }
}
