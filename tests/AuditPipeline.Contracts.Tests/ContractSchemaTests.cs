using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AuditPipeline.Contracts;
using AuditPipeline.Contracts.Validation;
using AuditPipeline.Emitter;
using Xunit;

namespace AuditPipeline.Contracts.Tests;

/// <summary>The JSON Schema is the decoder's first stage: what it says, how it says it, and that the hand rules agree.</summary>
public sealed class ContractSchemaTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);
    private readonly SampleFleet _fleet = new(3, seed: 11);
    private readonly EventDecoder _decoder = new(new ValidationLimits());

    /// <summary>A sample event with every optional member, as a JSON tree to edit.</summary>
    private JsonObject Full()
    {
        var e = _fleet.Next(_fleet.Agents[0], Now.AddMinutes(-1));
        e = e with
        {
            Action = e.Action with { Input = "SELECT 1" },
            Outcome = e.Outcome with { Message = "done" },
            Authorization = e.Authorization with
            {
                Reason = "in scope",
                Approvals = [new Approval { Approver = "erin@example.com", ApprovedAt = Now.AddMinutes(-2), ApprovalId = "apr-1" }],
                GrantExpiresAt = Now.AddHours(1),
            },
            Delegation = e.Delegation with
            {
                OnBehalfOf = "dan@example.com",
                Chain = [new Actor { Type = ActorType.Human, Id = "dan@example.com", Name = "Dan" }],
            },
        };
        return JsonNode.Parse(ContractJson.SerializeCanonical(e))!.AsObject();
    }

    private (DecodedEvent? Event, Rejection? Rejection) Decode(JsonNode node, EventDecoder? decoder = null) =>
        (decoder ?? _decoder).Decode(Encoding.UTF8.GetBytes(node["agent"]!["id"]!.GetValue<string>()), Encoding.UTF8.GetBytes(node.ToJsonString()), Now);

    [Theory]
    [InlineData("2026-12-2T04:33:48Z")]          // one-digit day
    [InlineData("2026-11-22T10:15:35 Z")]        // space before the offset
    [InlineData("2026-11-22T10:15:35+0")]
    [InlineData("2026-11-22T10:15:35+00")]
    [InlineData("2026-11-22T10:15:35+0000")]
    [InlineData("2026-11-22T10:15+00:00")]       // no seconds
    [InlineData("2026-11-22 10:15:35Z")]         // space for T
    [InlineData("2026-11-22_10:15:35Z")]
    [InlineData("2026-11-22T10:15:35")]          // no offset
    [InlineData("2026-11-22T10:15:35.Z")]        // '.' without digits
    [InlineData("2026-11-22T24:00:00Z")]
    [InlineData("2026-11-22T10:15:60Z")]         // leap second: not representable
    [InlineData("2026-02-30T10:15:35Z")]         // no such day
    [InlineData("2026-13-01T10:15:35Z")]
    [InlineData("2026-11-22T10:15:35+24:00")]
    [InlineData("20261122T101535Z")]
    [InlineData("２０２６-11-22T10:15:35Z")]      // non-ASCII digits
    [InlineData("2026-11-22T09:55:35.123456789012345678901Z")] // over 40 characters
    public void Timestamps_that_are_not_strict_rfc3339_are_refused_naming_the_field(string timestamp)
    {
        foreach (var (field, set) in new (string, Action<JsonObject, string>)[]
        {
            ("/occurred_at", (n, t) => n["occurred_at"] = t),
            ("/authorization/grant_expires_at", (n, t) => n["authorization"]!["grant_expires_at"] = t),
            ("/authorization/approvals/0/approved_at", (n, t) => n["authorization"]!["approvals"]![0]!["approved_at"] = t),
        })
        {
            var node = Full();
            set(node, timestamp);
            var (decoded, rejection) = Decode(node);
            Assert.Null(decoded);
            Assert.Equal(RejectCodes.SchemaViolation, rejection!.Code);
            Assert.Contains(field + " (", rejection.Reason, StringComparison.Ordinal);
        }
        // The deserializer, used without the schema (stored events, tools), is as strict.
        Assert.False(Timestamps.TryParseRfc3339(timestamp, out _, out var problem));
        Assert.NotEmpty(problem);
    }

    [Theory]
    [InlineData("2026-11-22T09:58:30Z", "2026-11-22T09:58:30.000000Z")]
    [InlineData("2026-11-22t09:58:30z", "2026-11-22T09:58:30.000000Z")]            // RFC 3339 5.6 allows lower case
    [InlineData("2026-11-22T15:28:30.5+05:30", "2026-11-22T09:58:30.500000Z")]
    [InlineData("2026-11-22T09:58:30.123456789-00:00", "2026-11-22T09:58:30.123456Z")] // beyond microseconds: truncated
    [InlineData("2026-11-23T09:57:30+23:59", "2026-11-22T09:58:30.000000Z")]
    public void Strict_rfc3339_timestamps_are_accepted_and_stored_as_utc_microseconds(string timestamp, string stored)
    {
        var node = Full();
        node["occurred_at"] = timestamp;
        var (decoded, rejection) = Decode(node);
        Assert.True(rejection is null, rejection?.Reason);
        Assert.Contains($"\"occurred_at\":\"{stored}\"", Encoding.UTF8.GetString(decoded!.Canonical), StringComparison.Ordinal);
    }

    [Fact]
    public void Schema_violations_name_the_json_pointer_and_the_keyword()
    {
        (Action<JsonObject> Change, string Expected)[] cases =
        [
            (n => n["agent"]!["id"] = "agent 1", "/agent/id (pattern): must not contain whitespace or control characters"),
            (n => n["agent"]!["name"] = "   ", "/agent/name (pattern): must not be blank or contain NUL characters"),
            (n => n["agent"]!["name"] = "", "/agent/name (minLength): must not be empty"),
            (n => n["agent"]!["team"] = new string('t', 257), "/agent/team (maxLength): is 257 characters; at most 256 allowed"),
            (n => n["authorization"]!.AsObject().Remove("policy_id"), "/authorization (required): missing required properties: policy_id"),
            (n => n["outcome"]!["extra"] = 1, "/outcome/extra (additionalProperties): unknown property 'extra' (not in the v1 schema)"),
            (n => n["schema_version"] = 2, "/schema_version (const): must be 1"),
            (n => n["event_id"] = "00000000-0000-0000-0000-000000000000", "/event_id (not): must not be \"00000000-0000-0000-0000-000000000000\""),
            (n => n["event_id"] = "{6a1f7a4c-6f0e-4d39-9a53-0b0b4f0d2d10}", "/event_id (pattern): must be a UUID"),
            (n => n["action"]!["resource"]!["sensitivity"] = "top", "/action/resource/sensitivity (enum): must be one of: \"public\""),
            (n => n["usage"]!["input_tokens"] = -1, "/usage/input_tokens (minimum): must be at least 0"),
            (n => n["usage"]!["cost_usd"] = 2_000_000, "/usage/cost_usd (maximum): must be at most 1000000"),
            (n => n["action"]!["tool"] = null, "/action/tool (type): must be a string, not null"),
            (n => n["delegation"]!["chain"] = new JsonArray([.. Enumerable.Range(0, 65).Select(_ => new JsonObject { ["type"] = "agent", ["id"] = "a" })]),
                "/delegation/chain (maxItems): has 65 entries; at most 64 allowed"),
            (n => n["delegation"]!["chain"]![0]!["type"] = 1, "/delegation/chain/0/type (type): must be a string, not a number"),
            (n => n["occurred_at"] = "2026-02-30T10:15:35Z", "/occurred_at (format): is not a real date and time"),
        ];
        foreach (var (change, expected) in cases)
        {
            var node = Full();
            change(node);
            var (_, rejection) = Decode(node);
            Assert.True(rejection?.Code == RejectCodes.SchemaViolation, $"{expected}: {rejection?.Code} {rejection?.Reason}");
            Assert.StartsWith("Does not match the agent-action v1 schema: ", rejection!.Reason, StringComparison.Ordinal);
            Assert.True(rejection.Reason.Contains(expected, StringComparison.Ordinal), $"expected {expected} in {rejection.Reason}");
        }
    }

    [Theory]
    [InlineData("/action/input", "enc:v1:00000000000000000000000000000000:AAAA")]
    [InlineData("/outcome/message", "hmac:v1:abc")]
    [InlineData("/authorization/reason", "enc:v1:x")]
    [InlineData("/delegation/on_behalf_of", "hmac:v1:bob")]
    [InlineData("/delegation/chain/0/name", "enc:v1:Dan")]
    [InlineData("/authorization/approvals/0/approver", "hmac:v1:erin")]
    public void A_producer_cannot_send_a_redactable_field_that_poses_as_redacted(string field, string forged)
    {
        var node = Full();
        var segments = field.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var parent = segments[..^1].Aggregate((JsonNode)node, (n, s) => int.TryParse(s, out var i) ? n[i]! : n[s]!);
        parent[segments[^1]] = forged;

        var (decoded, rejection) = Decode(node);

        Assert.Null(decoded);
        Assert.Equal(RejectCodes.SchemaViolation, rejection!.Code);
        Assert.Contains($"{field} (not): must not start with 'enc:v1:' or 'hmac:v1:' (reserved for values redacted at ingest)", rejection.Reason, StringComparison.Ordinal);
        // Only the prefix is reserved: the same text elsewhere in the value is fine.
        parent[segments[^1]] = "see-" + forged;
        Assert.Null(Decode(node).Rejection);
    }

    [Fact]
    public void Every_redactable_field_is_reserved_in_the_schema()
    {
        var reserved = new List<string>();
        using var schema = JsonDocument.Parse(ContractSchema.Text);
        Walk(schema.RootElement, "");
        var expected = RedactableFields.All.Select(f => f.Split('.')[^1]).Order(StringComparer.Ordinal);
        Assert.Equal(expected, reserved.Order(StringComparer.Ordinal));

        void Walk(JsonElement element, string name)
        {
            if (element.ValueKind != JsonValueKind.Object)
            {
                return;
            }
            if (element.TryGetProperty("not", out var not) && not.TryGetProperty("pattern", out var p) && p.GetString() == "^(enc|hmac):v1:")
            {
                reserved.Add(name);
            }
            foreach (var child in element.EnumerateObject())
            {
                Walk(child.Value, child.Name);
            }
        }
    }

    [Fact]
    public void Every_pattern_in_the_schema_has_a_message_in_the_contracts_words()
    {
        var patterns = new HashSet<string>(StringComparer.Ordinal);
        using var schema = JsonDocument.Parse(ContractSchema.Text);
        Walk(schema.RootElement);
        Assert.NotEmpty(patterns);
        Assert.All(patterns, p => Assert.True(ContractSchema.PatternMessages.ContainsKey(p), $"no message for pattern {p}"));

        void Walk(JsonElement element)
        {
            if (element.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in element.EnumerateArray())
                {
                    Walk(item);
                }
            }
            if (element.ValueKind != JsonValueKind.Object)
            {
                return;
            }
            if (element.TryGetProperty("pattern", out var p) && p.ValueKind == JsonValueKind.String)
            {
                patterns.Add(p.GetString()!);
            }
            foreach (var child in element.EnumerateObject())
            {
                Walk(child.Value);
            }
        }
    }

    [Fact]
    public void The_schema_file_is_written_with_the_default_limits()
    {
        // Evaluated with the defaults, the schema is the file unchanged (no length was rewritten).
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(ContractSchema.Text), JsonNode.Parse(ContractSchema.For(new ValidationLimits()).Json)));
    }

    [Fact]
    public void Configured_limits_are_the_limits_the_schema_is_evaluated_with()
    {
        var node = Full();
        node["action"]!["input"] = new string('x', 40_000);
        Assert.Contains("/action/input (maxLength): is 40000 characters; at most 32768 allowed", Decode(node).Rejection!.Reason, StringComparison.Ordinal);
        Assert.Null(Decode(node, new EventDecoder(new ValidationLimits { MaxInputLength = 65536, MaxEventBytes = 128 * 1024 })).Rejection);

        var tight = new EventDecoder(new ValidationLimits { MaxIdLength = 8 });
        var (_, rejection) = Decode(Full(), tight);
        Assert.Equal(RejectCodes.SchemaViolation, rejection!.Code);
        Assert.Contains("/agent/id (maxLength)", rejection.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Integers_written_with_a_zero_fraction_are_the_same_integers()
    {
        // JSON Schema's "integer" is any number without a fraction: the ingest agrees, and stores the integer.
        var node = Full();
        var canonical = Decode(node).Event!.Canonical;
        var text = node.ToJsonString();
        var tokens = node["usage"]!["input_tokens"]!.GetValue<long>();
        var written = text.Replace($"\"input_tokens\":{tokens}", $"\"input_tokens\":{tokens}.0", StringComparison.Ordinal)
            .Replace("\"schema_version\":1", "\"schema_version\":1.0", StringComparison.Ordinal);
        var (decoded, rejection) = _decoder.Decode(Encoding.UTF8.GetBytes(node["agent"]!["id"]!.GetValue<string>()), Encoding.UTF8.GetBytes(written), Now);
        Assert.True(rejection is null, rejection?.Reason);
        Assert.Equal(canonical, decoded!.Canonical);

        node["usage"]!["input_tokens"] = 1.5m;
        Assert.Contains("/usage/input_tokens (type)", Decode(node).Rejection!.Reason, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> Variants() => new()
    {
        { "valid", "" },
        { "id with a space", "agent.id=agent 1" },
        { "id with a no-break space", "agent.owner=erin\u00a0x" },
        { "id with a control character", "context.trace_id=a\u0007b" },
        { "text with a newline", "authorization.reason=line one\nline two" },
        { "blank text", "outcome.message= \t " },
        { "text with NUL", "action.tool=a\u0000b" },
        { "empty id", "agent.team=" },
        { "id at the limit of code points, over it in UTF-16", "agent.team=" + string.Concat(Enumerable.Repeat("\U0001F916", 256)) },
        { "id over the limit", "agent.team=" + new string('t', 257) },
        { "text at the limit of code points, over it in UTF-16", "agent.name=" + string.Concat(Enumerable.Repeat("\U0001F916", 4096)) },
        { "resource id at its limit", "action.resource.id=" + new string('r', 1024) },
        { "resource id over its limit", "action.resource.id=" + new string('r', 1025) },
        { "reserved prefix", "action.input=enc:v1:abc" },
        { "prefix not at the start", "action.input=x enc:v1:abc" },
        { "upper-case uuid", "event_id=6A1F7A4C-6F0E-4D39-9A53-0B0B4F0D2D10" },
        { "uuid without hyphens", "event_id=6a1f7a4c6f0e4d399a530b0b4f0d2d10" },
        { "nil uuid", "event_id=00000000-0000-0000-0000-000000000000" },
        { "schema version 2", "schema_version#2" },
        { "negative tokens", "usage.output_tokens#-3" },
        { "largest tokens", "usage.output_tokens#9223372036854775807" },
        { "tokens past long", "usage.output_tokens#9223372036854775808" },
        { "cost at the maximum", "usage.cost_usd#1000000" },
        { "cost over the maximum", "usage.cost_usd#1000000.01" },
        { "negative cost", "usage.cost_usd#-0.01" },
        { "cost as a string", "usage.cost_usd=0.1" },
        { "unknown enum", "agent.risk_tier=extreme" },
        { "enum in upper case", "outcome.status=SUCCESS" },
        { "timestamp with lower-case t and z", "occurred_at=2026-11-22t09:58:30z" },
        { "timestamp with a space", "occurred_at=2026-11-22 09:58:30Z" },
        { "timestamp without seconds", "occurred_at=2026-11-22T09:58Z" },
        { "timestamp on 30 February", "occurred_at=2026-02-30T09:58:30Z" },
        { "timestamp with a leap second", "authorization.grant_expires_at=2026-12-31T23:59:60Z" },
        { "timestamp far offset", "authorization.grant_expires_at=2026-11-23T09:58:30+23:59" },
        { "timestamp in year 0", "authorization.grant_expires_at=0000-01-01T00:00:00Z" },
    };

    /// <summary>
    /// The schema alone and the hand rules alone (deserializer, then <see cref="EventValidator"/>)
    /// reach the same verdict on every variant, so neither stage can accept what the other refuses.
    /// </summary>
    [Theory]
    [MemberData(nameof(Variants))]
    public void The_schema_and_the_hand_rules_agree(string name, string change)
    {
        var node = Full();
        if (change.Length > 0)
        {
            var split = change.IndexOfAny(['=', '#']);
            var path = change[..split].Split('.');
            var parent = path[..^1].Aggregate((JsonNode)node, (n, s) => n[s]!);
            parent[path[^1]] = change[split] == '=' ? JsonValue.Create(change[(split + 1)..]) : JsonNode.Parse(change[(split + 1)..]);
        }
        var bytes = Encoding.UTF8.GetBytes(node.ToJsonString());

        using var document = JsonDocument.Parse(bytes);
        var schemaErrors = ContractSchema.For(new ValidationLimits()).Evaluate(document.RootElement);
        string? handError;
        try
        {
            var e = ContractJson.Deserialize(bytes);
            var errors = new EventValidator(new ValidationLimits()).Validate(e, Now);
            handError = errors.Count > 0 ? errors[0].ToString() : null;
        }
        catch (JsonException ex)
        {
            handError = ex.Message;
        }

        Assert.True(schemaErrors.Count == 0 == (handError is null),
            $"{name}: schema says {(schemaErrors.Count == 0 ? "valid" : string.Join("; ", schemaErrors))}, hand rules say {handError ?? "valid"}");
    }
}
