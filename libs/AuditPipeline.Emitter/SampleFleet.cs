using System.Globalization;
using AuditPipeline.Contracts;

namespace AuditPipeline.Emitter;

/// <summary>
/// A deterministic fleet of simulated agents (different owners, teams, tiers, tools and
/// resources) producing realistic events of about 1 KB. Used by <c>auditctl emit/simulate</c>,
/// the benchmarks and the tests.
/// </summary>
public sealed class SampleFleet
{
    private static readonly string[] Owners = ["alice@example.com", "bob@example.com", "carol@example.com", "dan@example.com", "erin@example.com"];
    private static readonly string[] Teams = ["payments", "support", "platform", "growth", "finance"];
    private static readonly string[] Operations = ["read", "query", "update", "create", "send", "summarize"];
    private static readonly (string Type, string Tool, Sensitivity Sensitivity)[] Resources =
    [
        ("sql-table", "postgres.query", Sensitivity.Internal),
        ("crm-record", "salesforce.api", Sensitivity.Pii),
        ("ledger", "erp.api", Sensitivity.Financial),
        ("s3-object", "aws.s3", Sensitivity.Confidential),
        ("ticket", "zendesk.api", Sensitivity.Internal),
        ("k8s-deployment", "kubectl", Sensitivity.Production),
        ("wiki-page", "confluence.api", Sensitivity.Public),
    ];

    private readonly Random _random;

    public IReadOnlyList<AgentIdentity> Agents { get; }

    public SampleFleet(int agents, int seed = 42, string idPrefix = "agent")
    {
        _random = new Random(seed);
        Agents = Enumerable.Range(0, agents).Select(i => new AgentIdentity
        {
            Id = $"{idPrefix}-{i:D4}",
            Name = $"{Teams[i % Teams.Length]}-assistant-{i}",
            Version = $"1.{i % 7}.{i % 3}",
            Model = i % 2 == 0 ? "gpt-4o" : "claude-sonnet",
            ModelVersion = i % 2 == 0 ? "2024-08-06" : "2025-05-14",
            Framework = i % 3 == 0 ? "langgraph" : "semantic-kernel",
            Owner = Owners[i % Owners.Length],
            Team = Teams[i % Teams.Length],
            RiskTier = (RiskTier)(i % 4),
        }).ToList();
    }

    /// <summary>The next event of the given agent, occurring at <paramref name="at"/>.</summary>
    public AgentActionOccurred Next(AgentIdentity agent, DateTimeOffset at)
    {
        var resource = Resources[_random.Next(Resources.Length)];
        var denied = _random.NextDouble() < 0.03;
        var needsApproval = resource.Sensitivity is Sensitivity.Financial or Sensitivity.Production;
        var human = agent.Owner ?? "unknown@example.com";
        var inputTokens = _random.Next(200, 4000);
        var outputTokens = _random.Next(50, 1500);
        var operation = Operations[_random.Next(Operations.Length)]; // first draw of the initializer before: the sequence is unchanged
        return new AgentActionOccurred
        {
            EventId = Guid.CreateVersion7(at),
            OccurredAt = Timestamps.ToUtcMicroseconds(at),
            SchemaVersion = AgentActionOccurred.CurrentSchemaVersion,
            Agent = agent,
            Delegation = new Delegation
            {
                OnBehalfOf = human,
                Chain =
                [
                    new Actor { Type = ActorType.Human, Id = human },
                    new Actor { Type = ActorType.Service, Id = "orchestrator-1" },
                ],
            },
            Action = new ActionPerformed
            {
                Operation = operation,
                Tool = resource.Tool,
                // What a prompt carries: personal data that redaction encrypts under the human's key.
                Input = $"{operation} the {resource.Type} records {human} asked about (request {inputTokens})",
                Resource = new TargetResource
                {
                    Type = resource.Type,
                    Id = $"{resource.Type}/{agent.Team}/{_random.Next(0, 40).ToString(CultureInfo.InvariantCulture)}",
                    Sensitivity = resource.Sensitivity,
                },
            },
            Authorization = new AuthorizationDecision
            {
                Decision = denied ? Decision.Deny : Decision.Allow,
                PolicyId = $"policy-{agent.Team}",
                PolicyVersion = "v12",
                Rule = denied ? "deny-outside-scope" : $"allow-{resource.Type}-for-{agent.Team}",
                Reason = denied ? "resource outside the agent's delegated scope" : "agent acts within its delegated scope",
                DecisionId = $"dec-{_random.NextInt64():x}",
                Approvals = needsApproval && !denied
                    ? [new Approval { Approver = Owners[(Array.IndexOf(Owners, human) + 1 + Owners.Length) % Owners.Length], ApprovedAt = Timestamps.ToUtcMicroseconds(at.AddMinutes(-3)), ApprovalId = $"apr-{_random.Next():x}" }]
                    : [],
                GrantExpiresAt = Timestamps.ToUtcMicroseconds(at.AddHours(8)),
            },
            Usage = new Usage
            {
                InputTokens = inputTokens,
                OutputTokens = outputTokens,
                CostUsd = Math.Round((inputTokens * 0.0000025m) + (outputTokens * 0.00001m), 6),
                DurationMs = _random.Next(20, 3000),
            },
            Context = new ActionContext
            {
                TraceId = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()),
                SpanId = Convert.ToHexStringLower(BitConverter.GetBytes(_random.NextInt64())),
                SessionId = $"s-{_random.Next(1, 1000)}",
                TaskId = $"task-{_random.Next(1, 100000)}",
                PromptHash = $"sha256:{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray())}{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray())}",
                GatewayId = "gw-eu-1",
            },
            Outcome = denied
                ? new Outcome { Status = OutcomeStatus.Failure, ErrorCode = "denied", Message = "blocked by policy" }
                : new Outcome { Status = OutcomeStatus.Success },
        };
    }

    /// <summary>
    /// Relative activity for an hour of the day: business hours busy, nights quiet, so the
    /// demo traffic and the detectors see a daily shape rather than a flat line.
    /// </summary>
    public static double DiurnalWeight(DateTimeOffset at, int agentIndex)
    {
        var hour = (at.UtcDateTime.Hour + (agentIndex % 3)) % 24 + (at.Minute / 60.0);
        var day = Math.Max(0, Math.Sin((hour - 6) / 12.0 * Math.PI)); // peaks mid-day
        return 0.15 + (0.85 * day);
    }

    public double NextUniform() => _random.NextDouble();
}
