using System.Text;
using AuditPipeline.Contracts;
using AuditPipeline.Emitter;
using AuditPipeline.IntegrationTests.Infrastructure;
using AuditPipeline.Testing;
using Confluent.Kafka;
using Xunit;

namespace AuditPipeline.IntegrationTests;

[Collection(PipelineCollection.Name)]
public sealed class DeadLetterTests(PipelineFixture fx)
{
    [Fact]
    public async Task Bad_messages_land_in_the_dead_letter_topic_and_quarantine_with_a_reason_while_valid_ones_are_stored()
    {
        var store = await fx.Postgres.CreateStoreAsync();
        var (topic, deadLetterTopic) = fx.NewTopics(partitions: 1); // one partition: offsets name the messages
        var fleet = new SampleFleet(3, seed: 5);
        var agent = fleet.Agents[0];
        var valid = Enumerable.Range(0, 6).Select(_ => fleet.Next(agent, DateTimeOffset.UtcNow)).ToList();
        var original = valid[0];
        var conflicting = ContractJson.SerializeCanonical(original with { Outcome = new Outcome { Status = OutcomeStatus.Error } });
        var json = Encoding.UTF8.GetString(ContractJson.SerializeCanonical(valid[1]));

        var bad = new (string Code, string? Key, byte[] Value)[]
        {
            ("malformed_json", agent.Id, "{\"event_id\": \"abc\", "u8.ToArray()),
            ("schema_violation", agent.Id, Encoding.UTF8.GetBytes(json.Replace("\"operation\":", "\"op\":", StringComparison.Ordinal))), // missing field + unknown one
            ("schema_violation", agent.Id, Encoding.UTF8.GetBytes(json.Replace("\"schema_version\":1", "\"schema_version\":\"one\"", StringComparison.Ordinal))), // wrong type
            ("oversized", agent.Id, Encoding.UTF8.GetBytes(json.Replace("\"reason\":\"", "\"reason\":\"" + new string('x', 100_000), StringComparison.Ordinal))),
            ("empty", agent.Id, []),
            ("malformed_json", agent.Id, [0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), // invalid UTF-8
            ("schema_violation", agent.Id, Encoding.UTF8.GetBytes(json.Replace("\"policy_id\":\"", "\"policy_id\":\"'; DROP TABLE audit.events; --", StringComparison.Ordinal))), // whitespace in an id: the schema's pattern
            ("invalid_field", agent.Id, ContractJson.SerializeCanonical(valid[2] with { OccurredAt = DateTimeOffset.UtcNow.AddDays(2) })),
            ("key_mismatch", "someone-else", ContractJson.SerializeCanonical(valid[3])),
            ("schema_violation", agent.Id, Encoding.UTF8.GetBytes(json.Replace("{\"event_id\"", "{\"event_id\":\"" + valid[4].EventId + "\",\"event_id\"", StringComparison.Ordinal))), // duplicate key
        };

        // Valid events interleaved with the bad ones, then the conflicting duplicate after its original.
        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = fx.Kafka.BootstrapServers, EnableIdempotence = true }).Build())
        {
            var send = (string? key, byte[] value) => producer.Produce(topic, new Message<string, byte[]> { Key = key!, Value = value });
            send(agent.Id, ContractJson.SerializeCanonical(original));
            foreach (var (_, key, value) in bad)
            {
                send(key, value);
                send(agent.Id, ContractJson.SerializeCanonical(valid[5]));   // same valid event again: a plain duplicate
            }
            send(agent.Id, conflicting);
            send(fleet.Agents[1].Id, ContractJson.SerializeCanonical(fleet.Next(fleet.Agents[1], DateTimeOffset.UtcNow)));
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        await using var ingest = fx.StartIngest(store, topic);
        var expectedRejects = bad.Length + 1;
        await PipelineFixture.WaitUntilAsync(
            async () => await store.CountAsync("SELECT count(*) FROM audit.quarantine") >= expectedRejects
                        && await store.CountAsync("SELECT count(*) FROM audit.events") >= 3,
            TimeSpan.FromMinutes(2), () => Task.FromResult(ingest.Output));

        // Valid events around the bad ones: the original, one copy of the repeated event, the other agent's.
        Assert.Equal(3, await store.CountAsync("SELECT count(*) FROM audit.events"));
        Assert.False(ingest.HasExited, "the pipeline keeps running after bad input");

        // Each bad message is quarantined at its own offset with the expected code and a reason.
        var quarantined = await ReadQuarantineAsync(store);
        Assert.Equal(expectedRejects, quarantined.Count);
        for (var i = 0; i < bad.Length; i++)
        {
            var offset = 1 + (2 * i);
            Assert.True(quarantined.TryGetValue(offset, out var q), $"offset {offset} ({bad[i].Code}) not quarantined");
            Assert.Equal(bad[i].Code, q.Code);
            Assert.False(string.IsNullOrWhiteSpace(q.Reason));
        }
        var conflict = quarantined[1 + (2 * bad.Length)];
        Assert.Equal("conflicting_duplicate", conflict.Code);
        Assert.Contains(original.EventId.ToString(), conflict.Reason, StringComparison.Ordinal);
        // The first version is kept.
        Assert.Equal(1, await store.CountAsync($"SELECT count(*) FROM audit.events WHERE event_id = '{original.EventId}' AND payload::text = '{Encoding.UTF8.GetString(ContractJson.SerializeCanonical(original)).Replace("'", "''", StringComparison.Ordinal)}'"));

        // The same messages are in the dead-letter topic with the reason in headers, each bounded by the quarantine limit.
        var deadLetters = ReadDeadLetters(deadLetterTopic, expectedRejects);
        Assert.Equal(bad.Select(b => b.Code).Append("conflicting_duplicate").Order(), deadLetters.Select(d => d.Code).Order());
        Assert.All(deadLetters, d => Assert.False(string.IsNullOrWhiteSpace(d.Reason)));
        Assert.Contains(deadLetters, d => d.Code == "oversized" && d.ValueLength == 64 * 1024);
    }

    private sealed record Quarantined(string Code, string Reason);

    private static async Task<Dictionary<long, Quarantined>> ReadQuarantineAsync(TestStore store)
    {
        await using var ds = store.AdminDataSource();
        await using var cmd = ds.CreateCommand("SELECT source_offset, reason_code, reason FROM audit.quarantine");
        await using var reader = await cmd.ExecuteReaderAsync();
        var rows = new Dictionary<long, Quarantined>();
        while (await reader.ReadAsync())
        {
            rows[reader.GetInt64(0)] = new Quarantined(reader.GetString(1), reader.GetString(2));
        }
        return rows;
    }

    private sealed record DeadLetter(string Code, string Reason, int ValueLength);

    private List<DeadLetter> ReadDeadLetters(string topic, int expected) =>
        KafkaProbe.ReadFromStart(fx.Kafka.BootstrapServers, topic, expected, TimeSpan.FromSeconds(60))
            .Select(m => new DeadLetter(Header(m, "dlq-reason-code"), Header(m, "dlq-reason"), m.Value?.Length ?? 0)).ToList();

    private static string Header(Message<byte[], byte[]> m, string name) => Encoding.UTF8.GetString(m.Headers.GetLastBytes(name));
}
