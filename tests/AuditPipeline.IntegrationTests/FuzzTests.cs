using System.Diagnostics;
using System.Globalization;
using AuditPipeline.IntegrationTests.Infrastructure;
using AuditPipeline.Testing;
using Confluent.Kafka;
using Xunit;
using Xunit.Abstractions;

namespace AuditPipeline.IntegrationTests;

/// <summary>
/// The fuzz run (issue 15): generated hostile messages, interleaved with valid events, through Kafka
/// (over the wire) and the real ingest process into PostgreSQL. The seed is printed; FUZZ_SEED
/// repeats a run.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class FuzzTests(PipelineFixture fx, ITestOutputHelper output)
{
    private const int Hostile = 10_000;
    private const int HostilePerValid = 4;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(150);

    [Fact]
    public async Task Ten_thousand_hostile_messages_are_quarantined_with_reasons_naming_the_field_and_every_valid_event_is_stored_once()
    {
        var seed = HostileEvents.SeedFromEnvironment();
        output.WriteLine($"fuzz seed {seed} (FUZZ_SEED={seed} repeats this run)");
        var clock = Stopwatch.StartNew();
        var store = await fx.Postgres.CreateStoreAsync();
        var (topic, _) = fx.NewTopics();
        var generating = Stopwatch.StartNew();
        var messages = new HostileEvents(seed, DateTimeOffset.UtcNow).Generate(Hostile, HostilePerValid);
        output.WriteLine($"generated {messages.Count} messages ({messages.Sum(m => (long)m.Value.Length) / 1_000_000.0:0.0} MB) in {generating.Elapsed.TotalSeconds:0.0}s");
        var hostile = messages.Where(m => m.IsHostile).ToList();
        var valid = messages.Where(m => !m.IsHostile).ToList();

        await using var ingest = fx.StartIngest(store, topic);
        var positions = Produce(topic, messages);
        output.WriteLine($"produced in {clock.Elapsed.TotalSeconds:0.0}s");

        await PipelineFixture.WaitUntilAsync(
            async () => ingest.HasExited
                || (await store.CountAsync("SELECT count(*) FROM audit.quarantine") >= hostile.Count
                    && await store.CountAsync("SELECT count(*) FROM audit.events") >= valid.Count
                    && KafkaProbe.CommittedLag(fx.Kafka.BootstrapServers, topic, "audit-ingest") == 0),
            Patience, async () => $"quarantined {await store.CountAsync("SELECT count(*) FROM audit.quarantine")} of {hostile.Count}, "
                + $"stored {await store.CountAsync("SELECT count(*) FROM audit.events")} of {valid.Count}\n{Tail(ingest.Output)}");
        output.WriteLine($"ingested in {clock.Elapsed.TotalSeconds:0.0}s");

        var quarantined = await ReadQuarantineAsync(store, topic);
        var stored = await ReadStoredIdsAsync(store);
        var failures = new List<string>();
        foreach (var m in hostile)
        {
            var rows = quarantined.GetValueOrDefault(positions[m.Index], []);
            var problem = rows.Count == 1 ? m.Judge(rows[0].Code, rows[0].Reason) : $"{rows.Count} quarantine rows";
            if (problem is not null)
            {
                failures.Add($"#{m.Index} {m.Kind} {m.Field} at {positions[m.Index]}: {problem}; reason: {(rows.Count > 0 ? rows[0].Reason : "-")}");
            }
        }
        foreach (var m in valid.Where(m => quarantined.ContainsKey(positions[m.Index])))
        {
            failures.Add($"#{m.Index} valid event {m.ValidId} quarantined: {quarantined[positions[m.Index]][0].Reason}");
        }
        var validIds = valid.Select(m => m.ValidId!.Value).ToHashSet();
        failures.AddRange(validIds.Except(stored.Keys).Take(20).Select(id => $"valid event {id} not stored"));
        failures.AddRange(stored.Where(s => s.Value != 1 || !validIds.Contains(s.Key)).Take(20).Select(s => $"stored {s.Key} {s.Value} time(s), valid: {validIds.Contains(s.Key)}"));

        var codes = quarantined.Values.SelectMany(r => r).CountBy(r => r.Code).OrderBy(c => c.Key, StringComparer.Ordinal);
        var summary = $"fuzz: {hostile.Count} hostile, {valid.Count} valid, quarantined = {quarantined.Values.Sum(r => r.Count)}, "
            + $"stored = {stored.Values.Sum()}, worker exits = {(ingest.HasExited ? 1 : 0)}, "
            + $"by code: {string.Join(", ", codes.Select(c => $"{c.Key}={c.Value}"))} (seed {seed}, {clock.Elapsed.TotalSeconds:0}s)";
        var kinds = "fuzz kinds: " + string.Join(", ", hostile.CountBy(m => m.Kind).OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key}={k.Value}"));
        var file = Path.Combine(AppContext.BaseDirectory, "fuzz-summary.txt");
        await File.WriteAllLinesAsync(file, [kinds, .. ExampleReasons(hostile, positions, quarantined), summary]);
        // The console logger writes "fail: Category[0]" and the message on the next line.
        var log = ingest.Output.Split('\n');
        var errorLines = log.Select((line, i) => (line, i)).Where(l => l.line.StartsWith("fail:", StringComparison.Ordinal) || l.line.StartsWith("crit:", StringComparison.Ordinal))
            .Select(l => l.line + " " + (l.i + 1 < log.Length ? log[l.i + 1].Trim() : "")).ToList();
        output.WriteLine($"ingest log: {log.Length} lines, {errorLines.Count} at error level{string.Concat(errorLines.Take(5).Select(l => "\n  " + l))}");
        output.WriteLine(kinds);
        output.WriteLine($"(also in {file}, with one reason per kind)");
        output.WriteLine(summary);

        Assert.True(failures.Count == 0, $"seed {seed}: {failures.Count} wrong:\n{string.Join("\n", failures.Take(30))}");
        Assert.False(ingest.HasExited, "the ingest worker exited:\n" + Tail(ingest.Output));
        Assert.DoesNotContain("Unhandled exception", ingest.Output, StringComparison.Ordinal);
        Assert.Empty(errorLines); // no store refusals, no dead-letter copies given up, nothing critical
    }

    /// <summary>Sends every message in order (LZ4, as emitters do: the huge values compress) and returns where each landed.</summary>
    private Dictionary<int, (int Partition, long Offset)> Produce(string topic, List<FuzzMessage> messages)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = fx.Kafka.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
            CompressionType = CompressionType.Lz4,
            MessageMaxBytes = 4_000_000, // the multi-MB compressible values must reach the broker to be refused by ingest
        };
        var positions = new Dictionary<int, (int, long)>(messages.Count);
        var errors = new List<string>();
        using (var producer = new ProducerBuilder<byte[], byte[]>(config).Build())
        {
            foreach (var m in messages)
            {
                producer.Produce(topic, new Message<byte[], byte[]> { Key = m.Key!, Value = m.Value }, report =>
                {
                    lock (positions)
                    {
                        if (report.Error.IsError)
                        {
                            errors.Add($"#{m.Index} {m.Kind} ({m.Value.Length} bytes): {report.Error.Reason}");
                        }
                        positions[m.Index] = (report.Partition.Value, report.Offset.Value);
                    }
                });
            }
            Assert.Equal(0, producer.Flush(TimeSpan.FromMinutes(1)));
        }
        Assert.True(errors.Count == 0, string.Join("\n", errors.Take(20)));
        return positions;
    }

    private sealed record Row(string Code, string Reason);

    private static async Task<Dictionary<(int Partition, long Offset), List<Row>>> ReadQuarantineAsync(TestStore store, string topic)
    {
        await using var ds = store.AdminDataSource();
        await using var cmd = ds.CreateCommand("SELECT source_partition, source_offset, reason_code, reason FROM audit.quarantine WHERE source_topic = $1");
        cmd.Parameters.Add(new Npgsql.NpgsqlParameter { Value = topic });
        await using var reader = await cmd.ExecuteReaderAsync();
        var rows = new Dictionary<(int, long), List<Row>>();
        while (await reader.ReadAsync())
        {
            var position = (reader.GetInt32(reader.GetOrdinal("source_partition")), reader.GetInt64(reader.GetOrdinal("source_offset")));
            if (!rows.TryGetValue(position, out var list))
            {
                rows[position] = list = [];
            }
            list.Add(new Row(reader.GetString(reader.GetOrdinal("reason_code")), reader.GetString(reader.GetOrdinal("reason"))));
        }
        return rows;
    }

    private static async Task<Dictionary<Guid, int>> ReadStoredIdsAsync(TestStore store)
    {
        await using var ds = store.AdminDataSource();
        await using var cmd = ds.CreateCommand("SELECT event_id, count(*) AS copies FROM audit.events GROUP BY event_id");
        await using var reader = await cmd.ExecuteReaderAsync();
        var ids = new Dictionary<Guid, int>();
        while (await reader.ReadAsync())
        {
            ids[reader.GetGuid(reader.GetOrdinal("event_id"))] = (int)reader.GetInt64(reader.GetOrdinal("copies"));
        }
        return ids;
    }

    /// <summary>The first quarantine reason of each kind, so a reader of the summary sees what emitters are told.</summary>
    private static IEnumerable<string> ExampleReasons(List<FuzzMessage> hostile, Dictionary<int, (int, long)> positions, Dictionary<(int, long), List<Row>> quarantined) =>
        hostile.GroupBy(m => m.Kind).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => g.Select(m => quarantined.GetValueOrDefault(positions[m.Index])?.FirstOrDefault()).FirstOrDefault(r => r is not null) is { } row
                ? $"  {g.Key}: {row.Code}: {Shorten(row.Reason)}"
                : $"  {g.Key}: (not quarantined)");

    private static string Shorten(string reason) => reason.Length <= 300 ? reason : reason[..300] + "…";

    private static string Tail(string text) => string.Join('\n', text.Split('\n').TakeLast(60));
}
