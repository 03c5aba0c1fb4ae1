using System.CommandLine;
using AuditPipeline.ClickHouse;
using AuditPipeline.EventStore;
using AuditPipeline.Integrity.Store;
using AuditPipeline.Projections;

namespace AuditPipeline.Cli.Projections;

/// <summary>
/// <c>auditctl clickhouse migrate</c> and <c>auditctl projections rebuild</c>. Exit 0 done, 1 another
/// projector holds the projection, 2 could not run (unknown projection, ClickHouse or the store unreachable).
/// </summary>
internal static class ProjectionCommands
{
    public static Command CreateClickHouse()
    {
        var migrate = new Command("migrate", "Create the ClickHouse tables and views (idempotent)");
        migrate.SetAction((parse, ct) => CliRun.Guarded("clickhouse migrate", async () =>
        {
            using var http = new HttpClient();
            var applied = await new ClickHouseSchema(CliSettings.ClickHouse(http)).ApplyAsync(ct);
            Console.WriteLine($"applied: {string.Join(", ", applied)}");
            return 0;
        }));
        return new Command("clickhouse", "ClickHouse schema") { migrate };
    }

    public static Command CreateProjections()
    {
        var name = new Argument<string>("name") { Description = "The projection to rebuild: clickhouse or read-models" };
        var wait = new Option<int>("--wait") { Description = "Seconds to wait for a running projector to stop", DefaultValueFactory = _ => 10 };
        var archive = new Option<string?>("--archive") { Description = "Replay the archive's months first (those dropped from the hot store; purged months are gone)" };
        var rebuild = new Command("rebuild", "Drop a projection and rebuild it from the event store (stop its projector first)") { name, wait, archive };
        rebuild.SetAction((parse, ct) => CliRun.Guarded("projections rebuild", async () =>
        {
            var which = parse.GetValue(name);
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
            // Replacing a projection's data and position is the schema owner's job: no service role
            // may empty a read model or move another's position back.
            await using var store = CliSettings.AdminDataSource();
            EventBatchHandler handler;
            string subscriptionName;
            Func<CancellationToken, Task> reset;
            switch (which)
            {
                case "clickhouse":
                    var clickHouse = CliSettings.ClickHouse(http);
                    handler = new ClickHouseActionsProjection(clickHouse).HandleAsync;
                    subscriptionName = ClickHouseActionsProjection.SubscriptionName;
                    reset = async token =>
                    {
                        var schema = new ClickHouseSchema(clickHouse);
                        await schema.DropAllAsync(token);
                        await schema.ApplyAsync(token);
                    };
                    break;
                case "read-models":
                    handler = new ReadModelProjection(store).HandleAsync;
                    subscriptionName = ReadModelProjection.SubscriptionName;
                    reset = async token =>
                    {
                        await using var truncate = store.CreateCommand(ReadModelSql.Truncate);
                        await truncate.ExecuteNonQueryAsync(token);
                    };
                    break;
                default:
                    Console.Error.WriteLine($"unknown projection '{which}'; known: clickhouse, read-models");
                    return 2;
            }

            var replay = handler;
            var subscription = new StoreSubscription(store, subscriptionName, (batch, token) => replay(batch, token), new SubscriptionOptions
            {
                BatchSize = 20_000,
                StopWhenCaughtUp = true,
                // Holding the projection's leader lock: no projector can write while its data is replaced.
                OnActivated = async token =>
                {
                    await reset(token);
                    await using var resetCheckpoint = store.CreateCommand(StoreSql.ResetCheckpoint);
                    resetCheckpoint.Parameters.AddWithValue("name", subscriptionName);
                    await resetCheckpoint.ExecuteNonQueryAsync(token);
                    if (parse.GetValue(archive) is { } root)
                    {
                        // Archived months come first: they precede every hot event in the log, and the
                        // projections skip positions they already hold, so the store replay continues cleanly.
                        long archived = 0;
                        foreach (var batch in new AuditPipeline.Retention.ArchiveLayout(root).ReadEventBatches(20_000))
                        {
                            await handler(batch, token);
                            archived += batch.Count;
                        }
                        Console.WriteLine($"rebuild: {which} emptied, {archived} archived events replayed; replaying the store");
                        return;
                    }
                    Console.WriteLine($"rebuild: {which} emptied, replaying the store");
                },
            });
            using var lockWait = CancellationTokenSource.CreateLinkedTokenSource(ct);
            lockWait.CancelAfter(TimeSpan.FromSeconds(parse.GetValue(wait)));
            var run = subscription.RunAsync(ct);
            while (!subscription.IsActive && !run.IsCompleted)
            {
                if (lockWait.IsCancellationRequested)
                {
                    Console.Error.WriteLine($"rebuild: another projector holds {subscriptionName}; stop it and try again");
                    return 1;
                }
                await Task.Delay(100, ct);
            }
            // Progress from the moment the lock is held: positions replayed out of the log's size now.
            await CliProgress.RunAsync("rebuild", "positions", knownTotal: true, async progress =>
            {
                progress.Total = await new StoredMerkleTree(store).LogSizeAsync(ct);
                replay = async (batch, token) =>
                {
                    await handler(batch, token);
                    if (batch.Count > 0)
                    {
                        progress.Report(batch[^1].GlobalSeq);
                    }
                };
                await run;
                return 0;
            });
            Console.WriteLine($"rebuild: done, projected up to log position {subscription.Position}");
            return 0;
        }));
        return new Command("projections", "Projections from the event store") { rebuild };
    }
}
