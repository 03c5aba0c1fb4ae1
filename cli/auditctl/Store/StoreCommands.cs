using System.CommandLine;
using System.Globalization;
using AuditPipeline.EventStore;

namespace AuditPipeline.Cli.Store;

/// <summary><c>auditctl store stats|quarantine|subscriptions</c>: what the event store holds and how far its readers are.</summary>
internal static class StoreCommands
{
    public static Command Create() => new("store", "Event store information") { Stats(), Quarantine(), Subscriptions() };

    private static Command Stats()
    {
        var stats = new Command("stats", "Events, agents and quarantined messages in the store") { JsonOutput.Flag };
        stats.SetAction((parse, ct) => CliRun.Guarded("store stats", async () =>
        {
            await using var dataSource = CliSettings.AppDataSource();
            await using var cmd = dataSource.CreateCommand(StoreSql.StoreStats);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            var (events, agents, quarantined, logSize) = (reader.GetInt64(reader.GetOrdinal("events")), reader.GetInt64(reader.GetOrdinal("streams")),
                reader.GetInt64(reader.GetOrdinal("quarantined")), reader.GetInt64(reader.GetOrdinal("log_size")));
            if (parse.GetValue(JsonOutput.Flag))
            {
                JsonOutput.Write(new { Events = events, Agents = agents, Quarantined = quarantined, LogSize = logSize });
                return 0;
            }
            // One line, not a table: scripts (infra/demo) pick events= out of it.
            Console.WriteLine($"events={events} agents={agents} quarantined={quarantined} log_size={logSize}");
            return 0;
        }));
        return stats;
    }

    private static Command Quarantine()
    {
        var limit = new Option<int>("--limit") { Description = "Most recent entries to show (1-1000)", DefaultValueFactory = _ => 20 };
        var quarantine = new Command("quarantine", "Most recent quarantined messages with their reasons (#id first; `replay` sends them back through ingest)")
        {
            limit, JsonOutput.Flag, QuarantineReplayCommand.Create(),
        };
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
            var rows = new List<(long Id, DateTimeOffset At, string Topic, int Partition, long Offset, string Reason, string Detail)>();
            while (await reader.ReadAsync(ct))
            {
                rows.Add((reader.GetInt64(6), reader.GetFieldValue<DateTimeOffset>(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt64(3), reader.GetString(4), reader.GetString(5)));
            }
            if (parse.GetValue(JsonOutput.Flag))
            {
                JsonOutput.Write(rows.Select(r => new { r.Id, QuarantinedAt = r.At, r.Topic, r.Partition, r.Offset, ReasonCode = r.Reason, Reason = r.Detail }));
                return 0;
            }
            var table = new ListOutput("#", "Quarantined (UTC)", "Where", "Code", "Reason");
            foreach (var r in rows)
            {
                var where = string.Create(CultureInfo.InvariantCulture, $"{r.Topic}[{r.Partition}]@{r.Offset}");
                table.Add($"#{r.Id} {r.At:u} {where} {r.Reason}: {r.Detail}",
                    r.Id.ToString(CultureInfo.InvariantCulture), r.At.ToString("u", CultureInfo.InvariantCulture), where, r.Reason, r.Detail);
            }
            table.Write();
            return 0;
        }));
        return quarantine;
    }

    private static Command Subscriptions()
    {
        var subscriptions = new Command("subscriptions", "Each subscription's checkpoint and lag (events and seconds behind the log head)") { JsonOutput.Flag };
        subscriptions.SetAction((parse, ct) => CliRun.Guarded("store subscriptions", async () =>
        {
            await using var dataSource = CliSettings.AppDataSource();
            await using var cmd = dataSource.CreateCommand(StoreSql.ReadSubscriptionLag);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            var rows = new List<(string Name, long Position, long Head, double BehindSeconds, DateTimeOffset CheckpointAt)>();
            while (await reader.ReadAsync(ct))
            {
                var behindSeconds = reader.IsDBNull(4) ? 0 : Math.Max(0, (DateTimeOffset.UtcNow - reader.GetFieldValue<DateTimeOffset>(4)).TotalSeconds);
                rows.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), behindSeconds, reader.GetFieldValue<DateTimeOffset>(3)));
            }
            if (parse.GetValue(JsonOutput.Flag))
            {
                JsonOutput.Write(rows.Select(r => new
                {
                    r.Name, r.Position, r.Head, LagEvents = r.Head - r.Position, LagSeconds = Math.Round(r.BehindSeconds, 1), r.CheckpointAt,
                }));
                return 0;
            }
            var table = new ListOutput("Subscription", "Position", "Head", "Lag (events)", "Lag (s)", "Checkpoint (UTC)");
            foreach (var r in rows)
            {
                table.Add($"{r.Name}: position={r.Position} head={r.Head} lag_events={r.Head - r.Position} lag_seconds={r.BehindSeconds:0.0} checkpoint_at={r.CheckpointAt:u}",
                    r.Name, r.Position.ToString(CultureInfo.InvariantCulture), r.Head.ToString(CultureInfo.InvariantCulture),
                    (r.Head - r.Position).ToString(CultureInfo.InvariantCulture), r.BehindSeconds.ToString("0.0", CultureInfo.InvariantCulture),
                    r.CheckpointAt.ToString("u", CultureInfo.InvariantCulture));
            }
            table.Write(empty: "no subscriptions have a checkpoint yet");
            return 0;
        }));
        return subscriptions;
    }
}
