using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using AuditPipeline.EventStore;
using Confluent.Kafka;
using Npgsql;

namespace AuditPipeline.Cli.Store;

/// <summary>
/// <c>auditctl store quarantine replay</c>: sends quarantined messages back through ingest once
/// their cause is fixed (a raised Ingest:Validation:MaxAge for <c>too_old</c>, a mended consumer
/// of a shared key, ...). The original bytes go out with the original key, so an
/// event stored meanwhile is deduplicated by its id, never doubled; a message that is still bad is
/// quarantined again at its new position. Each copy the broker acknowledged is recorded in
/// audit.quarantine_replays (who, when, where); a copy refused again is quarantined at that place
/// and never re-sent by a replay itself. Rows whose bytes (or key) were truncated on the way in,
/// that kept no bytes at all, or whose bytes no longer match the digest taken then, are never sent.
/// Exit codes: 0 all selected sent (or listed, with --dry-run), 1 some refused, 2 could not run.
/// </summary>
internal static class QuarantineReplayCommand
{
    private const int PageSize = 500;
    public const string ReplayedFromHeader = "replayed-from-quarantine";

    private sealed record Candidate(long Id, string ReasonCode, Guid? EventId, byte[]? Key, byte[] Raw, int RawSize, byte[] RawSha256, bool Truncated, long Replays);

    public static Command Create()
    {
        var reason = new Option<string?>("--reason") { Description = "Replay messages quarantined with this reason code (e.g. too_old)" };
        var ids = new Option<long[]>("--id") { Description = "Replay this quarantine row (#id in `store quarantine`); repeatable" };
        var since = new Option<DateTimeOffset?>("--since") { Description = "Only messages quarantined at or after this time (RFC 3339)" };
        var limit = new Option<int>("--limit") { Description = "At most this many messages (1-1000000)", DefaultValueFactory = _ => 10_000 };
        var topic = new Option<string?>("--topic") { Description = "Topic to send to (default Ingest:Topic, else agent-actions)" };
        var by = new Option<string>("--by") { Description = "Who replays (recorded in audit.quarantine_replays)", DefaultValueFactory = _ => Environment.UserName };
        var again = new Option<bool>("--again") { Description = "Include messages replayed before (harmless: ingest deduplicates)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "List what would be sent; send nothing" };

        var command = new Command("replay", "Send quarantined messages back through ingest (original bytes and key), recording each replay")
        {
            reason, ids, since, limit, topic, by, again, dryRun,
        };
        command.SetAction((parse, ct) => CliRun.Guarded("store quarantine replay", async () =>
        {
            var filter = new Filter(parse.GetValue(reason), parse.GetValue(ids) ?? [], parse.GetValue(since), parse.GetValue(again));
            var max = parse.GetValue(limit);
            var who = parse.GetValue(by) ?? "";
            if (filter.Reason is null && filter.Ids.Length == 0)
            {
                throw new ArgumentException("choose what to replay: --reason CODE (see `auditctl store quarantine`) and/or --id N");
            }
            if (max is < 1 or > 1_000_000)
            {
                throw new ArgumentException("--limit must be between 1 and 1000000");
            }
            if (who.Trim().Length is < 1 or > 256)
            {
                throw new ArgumentException("--by must be 1 to 256 characters");
            }
            var target = parse.GetValue(topic) ?? CliSettings.IngestTopic();
            await using var dataSource = CliSettings.AppDataSource();
            var dry = parse.GetValue(dryRun);
            var warn = CliKafka.WarnOnce("replay");
            using var producer = dry ? null : new ProducerBuilder<byte[]?, byte[]>(CliSettings.Kafka().Apply(new ProducerConfig
            {
                BootstrapServers = CliSettings.KafkaBootstrap(),
                EnableIdempotence = true,
                Acks = Acks.All,
                ClientId = "auditctl-quarantine-replay",
                MessageTimeoutMs = CliKafka.DefaultMessageTimeoutMs,
            }))
                // librdkafka's own log lines are for services; an operator gets one line when the broker
                // cannot be reached, and the send's error when it gives up (message.timeout.ms).
                .SetLogHandler((_, _) => { })
                .SetErrorHandler((_, error) => warn(error.Reason))
                .Build();
            var tally = await CliProgress.RunAsync("replay", "done", knownTotal: false,
                progress => ReplayAsync(dataSource, producer, filter, max, target, who.Trim(), progress, ct));
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"replay: {tally.Seen} done"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{(dry ? "would replay" : "replayed")}={tally.Sent} to {target}, refused_truncated={tally.Truncated}, refused_digest_mismatch={tally.DigestMismatch}, refused_empty={tally.Empty}"));
            return tally.Refused > 0 ? 1 : 0;
        }));
        return command;
    }

    private sealed record Filter(string? Reason, long[] Ids, DateTimeOffset? Since, bool Again);

    private sealed class Tally
    {
        public int Sent;
        public int Truncated;
        public int DigestMismatch;
        public int Empty;
        public int Refused => Truncated + DigestMismatch + Empty;
        public int Seen => Sent + Refused;
    }

    private static async Task<Tally> ReplayAsync(NpgsqlDataSource dataSource, IProducer<byte[]?, byte[]>? producer, Filter filter, int max, string topic, string by,
        CliProgress progress, CancellationToken ct)
    {
        var tally = new Tally();
        progress.Detail = string.Create(CultureInfo.InvariantCulture, $"limit {max}");
        long after = 0;
        var until = await NewestIdAsync(dataSource, ct);
        while (tally.Seen < max)
        {
            var page = await PageAsync(dataSource, filter, after, until, Math.Min(PageSize, max - tally.Seen), ct);
            if (page.Count == 0)
            {
                break;
            }
            foreach (var row in page)
            {
                after = row.Id;
                if (Refusal(row) is { } refusal)
                {
                    Console.Error.WriteLine($"#{row.Id} ({row.ReasonCode}) not sent: {refusal.Why}");
                    switch (refusal.Kind)
                    {
                        case RefusalKind.Truncated: tally.Truncated++; break;
                        case RefusalKind.Empty: tally.Empty++; break;
                        default: tally.DigestMismatch++; break;
                    }
                    continue;
                }
                if (producer is null)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"#{row.Id} {row.ReasonCode} event_id={row.EventId?.ToString() ?? "-"} bytes={row.RawSize} replayed_before={row.Replays}"));
                }
                else
                {
                    var delivered = await producer.ProduceAsync(topic, ToMessage(row, by), ct);
                    await RecordAsync(dataSource, row.Id, by, delivered.TopicPartitionOffset, ct);
                }
                tally.Sent++;
                progress.Report(tally.Seen);
            }
        }
        return tally;
    }

    private enum RefusalKind { Truncated, Empty, DigestMismatch }

    /// <summary>Why a row's bytes may not go out again, or null when they may.</summary>
    private static (RefusalKind Kind, string Why)? Refusal(Candidate row)
    {
        if (row.Truncated)
        {
            return (RefusalKind.Truncated, string.Create(CultureInfo.InvariantCulture,
                $"only the first {row.Raw.Length} of {row.RawSize} bytes were kept (Store:QuarantineMaxRawBytes); the original (sha256 {Convert.ToHexStringLower(row.RawSha256)}) must be re-sent by its producer"));
        }
        if (row.Key is { Length: >= BoundedRaw.MaxKeyBytes })
        {
            return (RefusalKind.Truncated, $"its key was kept only up to {BoundedRaw.MaxKeyBytes} bytes, so the original key is not known; it must be re-sent by its producer");
        }
        if (row.RawSize == 0)
        {
            return (RefusalKind.Empty, "no bytes were received or kept (an empty message, or one Kafka could not hand over); there is nothing to send");
        }
        var actual = SHA256.HashData(row.Raw);
        return CryptographicOperations.FixedTimeEquals(actual, row.RawSha256)
            ? null
            : (RefusalKind.DigestMismatch, $"its bytes (sha256 {Convert.ToHexStringLower(actual)}) differ from those quarantined (sha256 {Convert.ToHexStringLower(row.RawSha256)}): the row was altered");
    }

    private static Message<byte[]?, byte[]> ToMessage(Candidate row, string by) => new()
    {
        Key = row.Key,
        Value = row.Raw,
        Headers = new Headers
        {
            { ReplayedFromHeader, Encoding.UTF8.GetBytes(row.Id.ToString(CultureInfo.InvariantCulture)) },
            { "replayed-by", Encoding.UTF8.GetBytes(by) },
        },
    };

    private static async Task<long> NewestIdAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(StoreSql.QuarantineNewestId);
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private static async Task<List<Candidate>> PageAsync(NpgsqlDataSource dataSource, Filter filter, long after, long until, int page, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(StoreSql.QuarantineReplayCandidates);
        cmd.Parameters.AddWithValue("after", after);
        cmd.Parameters.AddWithValue("until", until);
        cmd.Parameters.Add(new NpgsqlParameter<string?>("reason", NpgsqlTypes.NpgsqlDbType.Text) { TypedValue = filter.Reason });
        cmd.Parameters.AddWithValue("ids", filter.Ids);
        cmd.Parameters.Add(new NpgsqlParameter("since", NpgsqlTypes.NpgsqlDbType.TimestampTz) { Value = (object?)filter.Since?.ToUniversalTime() ?? DBNull.Value });
        cmd.Parameters.AddWithValue("again", filter.Again);
        cmd.Parameters.AddWithValue("page", page);
        var rows = new List<Candidate>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new Candidate(
                reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetGuid(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3), reader.GetFieldValue<byte[]>(4),
                reader.GetInt32(5), reader.GetFieldValue<byte[]>(6), reader.GetBoolean(7), reader.GetInt64(8)));
        }
        return rows;
    }

    private static async Task RecordAsync(NpgsqlDataSource dataSource, long id, string by, TopicPartitionOffset where, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(StoreSql.RecordQuarantineReplay);
        cmd.Parameters.AddWithValue("id", id);
        cmd.Parameters.AddWithValue("by", by);
        cmd.Parameters.AddWithValue("topic", where.Topic);
        cmd.Parameters.AddWithValue("partition", where.Partition.Value);
        cmd.Parameters.AddWithValue("offset", where.Offset.Value);
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
