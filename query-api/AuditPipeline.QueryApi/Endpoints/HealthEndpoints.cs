using System.Net.Sockets;
using AuditPipeline.ClickHouse;
using AuditPipeline.EventStore;
using AuditPipeline.Kafka;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuditPipeline.QueryApi.Endpoints;

public sealed record Check(string Name, bool Ok, string Detail);

public sealed record Readiness(bool Ready, IReadOnlyList<Check> Checks);

/// <summary>Liveness and readiness: the only endpoints without authentication. They name components, never addresses or credentials.</summary>
public static class HealthEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/health", () => Results.Ok(new { status = "ok" })).AllowAnonymous().WithTags("health");

        app.MapGet("/health/ready", async (NpgsqlDataSource db, ClickHouseClient clickHouse, IOptions<KafkaOptions> kafka,
            IOptions<QueryApiOptions> options, CallRecordBuffer calls, ApiMetrics metrics, CancellationToken ct) =>
        {
            var checks = new List<Check>
            {
                CallRecords(calls, metrics),
                await CheckAsync("postgresql", async () => { await using var c = db.CreateCommand("SELECT 1"); await c.ExecuteScalarAsync(ct); return "reachable"; }),
                await CheckAsync("clickhouse", async () => { await clickHouse.QueryAsync("SELECT 1", ct); return "reachable"; }),
                await CheckAsync("kafka", () => KafkaReachableAsync(kafka.Value, ct)),
                await CheckAsync("projections", () => ProjectionLagAsync(db, options.Value.MaxProjectionLagSeconds, ct)),
            };
            var ready = checks.All(c => c.Ok);
            return Results.Json(new Readiness(ready, checks), statusCode: ready ? 200 : 503);
        }).AllowAnonymous().WithTags("health");
    }

    /// <summary>Not ready while call records cannot be stored: the buffer is full or the last append failed (the API keeps answering).</summary>
    private static Check CallRecords(CallRecordBuffer buffer, ApiMetrics metrics)
    {
        var detail = $"{buffer.Count} buffered of {buffer.Capacity}, {metrics.CallRecordsWritten} written, {metrics.CallRecordsDropped} dropped since start";
        return new Check("call-records", !metrics.StoreFailing && buffer.Count < buffer.Capacity, metrics.StoreFailing ? detail + "; the store refuses them, retrying" : detail);
    }

    private static async Task<Check> CheckAsync(string name, Func<Task<string>> probe)
    {
        try
        {
            return new Check(name, true, await probe());
        }
        catch (Exception ex)
        {
            return new Check(name, false, ex is InvalidOperationException ? ex.Message : $"unreachable ({ex.GetType().Name})");
        }
    }

    /// <summary>A TCP connect to the first bootstrap server (no client, no credentials needed).</summary>
    private static async Task<string> KafkaReachableAsync(KafkaOptions kafka, CancellationToken ct)
    {
        var first = kafka.ResolveBootstrapServers().Split(',')[0].Trim();
        var colon = first.LastIndexOf(':');
        using var client = new TcpClient();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        await client.ConnectAsync(first[..colon], int.Parse(first[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture), timeout.Token);
        return "reachable";
    }

    private static async Task<string> ProjectionLagAsync(NpgsqlDataSource db, int maxLagSeconds, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(StoreSql.ReadSubscriptionLag);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        var worst = 0.0;
        var names = new List<string>();
        while (await r.ReadAsync(ct))
        {
            var name = r.GetString(0);
            if (name.StartsWith("alerts-", StringComparison.Ordinal))
            {
                continue; // alert sinks read alert events only: their position trails the log by design
            }
            names.Add(name);
            if (!r.IsDBNull(4))
            {
                worst = Math.Max(worst, (DateTimeOffset.UtcNow - r.GetFieldValue<DateTimeOffset>(4)).TotalSeconds);
            }
        }
        return worst <= maxLagSeconds
            ? $"{names.Count} subscriptions, worst lag {worst:0} s"
            : throw new InvalidOperationException($"a projection is {worst:0} s behind (limit {maxLagSeconds} s)");
    }
}
