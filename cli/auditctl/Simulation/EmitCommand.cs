using System.CommandLine;
using System.Text;
using AuditPipeline.Emitter;

namespace AuditPipeline.Cli.Simulation;

/// <summary><c>auditctl emit</c>: a few sample events (or invalid messages) sent to agent-actions. Exit 0 sent, 1 some not acknowledged, 2 could not run.</summary>
internal static class EmitCommand
{
    public static Command Create()
    {
        var count = new Option<int>("--count") { Description = "Events to emit", DefaultValueFactory = _ => 10 };
        var agents = new Option<int>("--agents") { Description = "Distinct sample agents", DefaultValueFactory = _ => 3 };
        var seed = new Option<int>("--seed") { Description = "Random seed", DefaultValueFactory = _ => 1 };
        var malformed = new Option<int>("--malformed") { Description = "Instead, send this many invalid messages (to see the dead-letter path)" };
        var command = new Command("emit", "Emit sample agent-action events to agent-actions") { count, agents, seed, malformed };
        command.SetAction((parse, ct) => CliRun.Guarded("emit", async () =>
        {
            if (parse.GetValue(malformed) > 0)
            {
                return EmitMalformed(parse.GetValue(malformed));
            }
            var fleet = new SampleFleet(Positive(parse.GetValue(agents), "--agents"), parse.GetValue(seed));
            using var emitter = CliKafka.Emitter("emit");
            for (var i = 0; i < Positive(parse.GetValue(count), "--count"); i++)
            {
                var e = fleet.Next(fleet.Agents[i % fleet.Agents.Count], DateTimeOffset.UtcNow);
                var at = await emitter.EmitAsync(e, ct);
                Console.WriteLine($"{e.EventId} agent={e.Agent.Id} {e.Action.Operation} {e.Action.Resource.Id} {AuditPipeline.Contracts.WireNames.Of(e.Authorization.Decision)} -> {at}");
            }
            return 0;
        }));
        return command;
    }

    private static int EmitMalformed(int count)
    {
        var fleet = new SampleFleet(1, seed: 99, idPrefix: "demo-broken");
        var valid = Encoding.UTF8.GetString(AuditPipeline.Contracts.ContractJson.SerializeCanonical(fleet.Next(fleet.Agents[0], DateTimeOffset.UtcNow)));
        (string Kind, string Body)[] kinds =
        [
            ("malformed JSON", "{\"event_id\": \"truncated"),
            ("missing authorization.policy_id", valid.Replace("\"policy_id\":", "\"policy\":", StringComparison.Ordinal)),
            ("wrong type for schema_version", valid.Replace("\"schema_version\":1", "\"schema_version\":\"1\"", StringComparison.Ordinal)),
        ];
        using var emitter = CliKafka.Emitter("emit");
        for (var i = 0; i < count; i++)
        {
            var (kind, body) = kinds[i % kinds.Length];
            emitter.EnqueueRaw(fleet.Agents[0].Id, Encoding.UTF8.GetBytes(body));
            Console.WriteLine($"sent invalid message: {kind}");
        }
        return emitter.Flush(TimeSpan.FromSeconds(30)) == 0 ? 0 : 1;
    }

    public static int Positive(int value, string name) =>
        value > 0 ? value : throw new ArgumentException($"{name} must be positive");
}
