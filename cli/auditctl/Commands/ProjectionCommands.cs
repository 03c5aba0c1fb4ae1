using System.CommandLine;
using AuditPipeline.ClickHouse;
using AuditPipeline.Core.Store;
using AuditPipeline.Projections;

namespace AuditPipeline.Cli.Commands;

internal static class ProjectionCommands
{
    public static Command CreateClickHouse()
    {
        var migrate = new Command("migrate", "Create the ClickHouse tables and views (idempotent)");
        migrate.SetAction(async (parse, ct) =>
        {
            using var http = new HttpClient();
            var applied = await new ClickHouseSchema(CliSettings.ClickHouse(http)).ApplyAsync(ct);
            Console.WriteLine($"applied: {string.Join(", ", applied)}");
            return 0;
        });
        return new Command("clickhouse", "ClickHouse schema") { migrate };
    }

    public static Command CreateProjections()
    {
        var name = new Argument<string>("name") { Description = "The projection to rebuild: clickhouse" };
        var wait = new Option<int>("--wait") { Description = "Seconds to wait for a running projector to stop", DefaultValueFactory = _ => 10 };
        var rebuild = new Command("rebuild", "Drop a projection and rebuild it from the event store (stop its projector first)") { name, wait };
        rebuild.SetAction(async (parse, ct) =>
        {
            if (parse.GetValue(name) != "clickhouse")
            {
                Console.Error.WriteLine($"unknown projection '{parse.GetValue(name)}'; known: clickhouse");
                return 2;
            }
            using var http = new HttpClient();
            var clickHouse = CliSettings.ClickHouse(http);
            await using var store = CliSettings.AppDataSource();
            var projection = new ClickHouseActionsProjection(clickHouse);
            var subscription = new StoreSubscription(store, ClickHouseActionsProjection.SubscriptionName, projection.HandleAsync, new SubscriptionOptions
            {
                BatchSize = 20_000,
                StopWhenCaughtUp = true,
                // Holding the projection's leader lock: no projector can write while the tables are replaced.
                OnActivated = async token =>
                {
                    var schema = new ClickHouseSchema(clickHouse);
                    await schema.DropAllAsync(token);
                    await schema.ApplyAsync(token);
                    await using var reset = store.CreateCommand(SqlScripts.Query("reset_checkpoint"));
                    reset.Parameters.AddWithValue("name", ClickHouseActionsProjection.SubscriptionName);
                    await reset.ExecuteNonQueryAsync(token);
                    Console.WriteLine("rebuild: tables recreated, replaying the store");
                },
            });
            using var lockWait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            lockWait.CancelAfter(TimeSpan.FromSeconds(parse.GetValue(wait)));
            var run = subscription.RunAsync(ct);
            while (!subscription.IsActive && !run.IsCompleted)
            {
                if (lockWait.IsCancellationRequested)
                {
                    Console.Error.WriteLine("rebuild: another projector holds the projection; stop it and try again");
                    return 1;
                }
                await Task.Delay(100, ct);
            }
            await run;
            Console.WriteLine($"rebuild: done, projected up to log position {subscription.Position}");
            return 0;
        });
        return new Command("projections", "Projections from the event store") { rebuild };
    }
}
