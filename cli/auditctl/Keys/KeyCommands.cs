using System.CommandLine;
using System.Globalization;
using AuditPipeline.Access;

namespace AuditPipeline.Cli.Keys;

/// <summary><c>auditctl keys create|list|revoke</c>: the query API's principals.</summary>
internal static class KeyCommands
{
    public static Command Create()
    {
        var command = new Command("keys", "Create, list and revoke query API keys (stored only as salted hashes)");
        command.Subcommands.Add(CreateKey());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Revoke());
        return command;
    }

    private static Command CreateKey()
    {
        var owner = new Option<string>("--owner") { Description = "The person or system accountable for the key", Required = true };
        var roles = new Option<string>("--roles") { Description = "Comma-separated: auditor, oncall, admin", Required = true };
        var teams = new Option<string>("--teams") { Description = "Comma-separated teams the key may see (default: all)", DefaultValueFactory = _ => "" };
        var owners = new Option<string>("--owners") { Description = "Comma-separated agent owners the key may see (default: all)", DefaultValueFactory = _ => "" };
        var days = new Option<int?>("--expires-in-days") { Description = "Expiry (default: none)" };
        var description = new Option<string?>("--description") { Description = "What the key is for" };
        var command = new Command("create", "Create a key; the token is printed once and cannot be shown again") { owner, roles, teams, owners, days, description };
        command.SetAction((parse, ct) => CliRun.Guarded($"keys {command.Name}", async () =>
        {
            var roleList = Split(parse.GetValue(roles)!);
            var unknown = roleList.Except(Roles.All).ToList();
            if (roleList.Count == 0 || unknown.Count > 0)
            {
                Console.Error.WriteLine($"--roles must name at least one of {string.Join(", ", Roles.All)}{(unknown.Count > 0 ? $"; unknown: {string.Join(", ", unknown)}" : "")}");
                return 2;
            }
            var ownerName = parse.GetValue(owner)!.Trim();
            if (ownerName.Length is 0 or > 200 || ownerName.Any(char.IsControl))
            {
                Console.Error.WriteLine("--owner must be 1–200 printable characters");
                return 2;
            }
            if (parse.GetValue(days) is <= 0)
            {
                Console.Error.WriteLine("--expires-in-days must be positive");
                return 2;
            }
            var expires = parse.GetValue(days) is { } d ? DateTimeOffset.UtcNow.AddDays(d) : (DateTimeOffset?)null;
            var (key, token) = await Store().CreateAsync(ownerName, roleList, Split(parse.GetValue(teams)!), Split(parse.GetValue(owners)!),
                parse.GetValue(description), expires, CliActor, ct);
            Console.Error.WriteLine($"created key {key.KeyId} for {key.Owner} with roles {string.Join(",", key.Roles)}{(key.IsScoped ? $", scoped to teams [{string.Join(",", key.Teams)}] owners [{string.Join(",", key.Owners)}]" : "")}{(expires is { } e ? $", expires {e:yyyy-MM-dd}" : "")}");
            Console.Error.WriteLine("the token below is shown only now; store it as a secret:");
            Console.WriteLine(token);
            return 0;
        }));
        return command;
    }

    /// <summary>Who the key's record names as having created or revoked it.</summary>
    private static string CliActor => $"auditctl ({Environment.UserName})";

    private static Command List()
    {
        var command = new Command("list", "Every key: id, owner, roles, scope, state (never a secret)") { JsonOutput.Flag };
        command.SetAction((parse, ct) => CliRun.Guarded($"keys {command.Name}", async () =>
        {
            var keys = await Store().ListAsync(ct);
            var now = DateTimeOffset.UtcNow;
            if (parse.GetValue(JsonOutput.Flag))
            {
                // The key's record holds only a salted hash; this is everything else about it.
                JsonOutput.Write(keys.Select(k => new
                {
                    k.KeyId, State = k.Unusable(now) ?? "active", k.Owner, k.Roles, k.Teams, k.Owners, k.Description, k.CreatedAt, k.ExpiresAt,
                }));
                return 0;
            }
            var table = new ListOutput("Key", "State", "Owner", "Roles", "Teams", "Owners", "Created", "Expires");
            foreach (var k in keys)
            {
                var state = k.Unusable(now) ?? "active";
                var (roles, teams, owners) = (string.Join(',', k.Roles), string.Join(',', k.Teams), string.Join(',', k.Owners));
                var created = k.CreatedAt.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
                var expires = k.ExpiresAt?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
                table.Add($"{k.KeyId}  {state,-8} {k.Owner}  roles={roles}  teams={teams}  owners={owners}  created={created}{(expires is null ? "" : $"  expires={expires}")}",
                    k.KeyId, state, k.Owner, roles, teams, owners, created, expires ?? "");
            }
            table.Write("no keys");
            return 0;
        }));
        return command;
    }

    private static Command Revoke()
    {
        var id = new Argument<string>("key-id") { Description = "The key id (from keys list)" };
        var command = new Command("revoke", "Revoke a key; it stops working at once") { id };
        command.SetAction((parse, ct) => CliRun.Guarded($"keys {command.Name}", async () =>
        {
            if (await Store().RevokeAsync(parse.GetValue(id)!, CliActor, ct))
            {
                Console.WriteLine($"revoked {parse.GetValue(id)}");
                return 0;
            }
            Console.Error.WriteLine($"no active key {parse.GetValue(id)}");
            return 1;
        }));
        return command;
    }

    private static List<string> Split(string list) =>
        [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    private static ApiKeyStore Store() => new(CliSettings.AppDataSource(), TimeProvider.System);
}
