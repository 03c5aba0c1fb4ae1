using System.CommandLine;
using System.Security.Cryptography;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Redaction;
using AuditPipeline.Retention;

namespace AuditPipeline.Cli.Subjects;

/// <summary><c>auditctl subject keygen|show|shred</c>: the redaction master key and crypto-shredding (docs/redaction.md).</summary>
internal static class SubjectCommands
{
    public static Command Create()
    {
        var command = new Command("subject", "Data subjects: the redaction master key, a subject's keys, crypto-shredding");
        command.Subcommands.Add(Keygen());
        command.Subcommands.Add(Show());
        command.Subcommands.Add(Shred());
        return command;
    }

    private static Option<string> SubjectOption() =>
        new("--subject") { Description = "The data subject: the human an agent acts for (delegation.on_behalf_of), else the agent's owner, else agent:<id>", Required = true };

    private static Command Keygen()
    {
        var output = new Option<string>("--out") { Description = "File to write the new master key to (never overwritten)", Required = true };
        var command = new Command("keygen", "Make a new redaction master key (32 random bytes, base64, mode 600)") { output };
        command.SetAction((parse, _) => CliRun.Guarded("subject keygen", () =>
        {
            var path = parse.GetValue(output)!;
            // Losing it makes every encrypted field unreadable.
            SecretFile.WriteNew(path, Convert.ToBase64String(RandomNumberGenerator.GetBytes(RedactionKeys.MasterKeyBytes)), "a master key");
            Console.Error.WriteLine($"wrote the redaction master key to {path} (keep it secret and backed up; set Redaction__MasterKeyFile to it)");
            return 0;
        }));
        return command;
    }

    private static Command Show()
    {
        var subject = SubjectOption();
        var command = new Command("show", "A subject's keys: when each was made and whether it was shredded") { subject, JsonOutput.Flag };
        command.SetAction((parse, ct) => CliRun.Guarded("subject show", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            var keys = RequireKeys(ds);
            var history = await keys.HistoryAsync(parse.GetValue(subject)!, ct);
            if (parse.GetValue(JsonOutput.Flag))
            {
                JsonOutput.Write(history.Select(k => new { KeyId = k.KeyId.ToString("N"), k.CreatedAt, Shredded = k.ShreddedAt is not null, k.ShreddedAt, k.ShreddedBy }));
                return 0;
            }
            if (history.Count == 0)
            {
                Console.WriteLine("no keys: no redacted field of this subject was ever stored");
            }
            foreach (var key in history)
            {
                Console.WriteLine(key.ShreddedAt is { } at
                    ? $"key {key.KeyId:N} made {key.CreatedAt:O}  SHREDDED {at:O} by {key.ShreddedBy}"
                    : $"key {key.KeyId:N} made {key.CreatedAt:O}  live");
            }
            return 0;
        }));
        return command;
    }

    private static Command Shred()
    {
        var subject = SubjectOption();
        var by = new Option<string>("--by") { Description = "Who orders it (recorded)", Required = true };
        var reason = new Option<string>("--reason") { Description = "Why, e.g. the erasure request's reference (recorded)", Required = true };
        var command = new Command("shred", "Destroy a subject's keys (schema owner): its encrypted fields become unreadable everywhere; chains and proofs still verify") { subject, by, reason };
        command.SetAction((parse, ct) => CliRun.Guarded("subject shred", async () =>
        {
            await using var ds = CliSettings.AppDataSource();
            await using var owner = CliSettings.AdminDataSource();
            var keys = RequireKeys(ds);
            var name = parse.GetValue(subject)!;
            var shredded = await keys.ShredAsync(owner, name, parse.GetValue(by)!, ct);
            if (shredded.Count == 0)
            {
                throw new RetentionRefusedException("the subject has no live key (never had redacted data stored, or already shredded; see auditctl subject show)");
            }
            var retention = new RetentionService(ds, new PostgresEventStore(ds, TimeProvider.System), TimeProvider.System);
            var at = TimeProvider.System.GetUtcNow();
            // The log names the subject only by its reference: writing the name would keep what was just erased.
            await retention.RecordAsync(new RetentionRecorded
            {
                EventId = Guid.CreateVersion7(at), At = Timestamps.ToUtcMicroseconds(at), Action = RetentionAction.SubjectShredded,
                Actor = parse.GetValue(by)!, Reason = parse.GetValue(reason),
                Detail = $"subject ref {Convert.ToHexStringLower(keys.Keys.SubjectRef(name))}, keys {string.Join(",", shredded.Select(k => k.ToString("N")))}",
            }, ct);
            Console.WriteLine($"shredded {shredded.Count} key(s) of the subject; their encrypted fields now read as {FieldEnvelope.Shredded}");
            Console.WriteLine("note: database backups and WAL archives taken before now still hold the wrapped keys until they expire (docs/redaction.md)");
            return 0;
        }));
        return command;
    }

    private static SubjectKeyStore RequireKeys(Npgsql.NpgsqlDataSource ds) =>
        CliSettings.SubjectKeys(ds) ?? throw new InvalidOperationException("No redaction master key: set Redaction__MasterKeyFile (subject keys are wrapped under it).");
}
