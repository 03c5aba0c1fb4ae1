using System.Buffers.Binary;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AuditPipeline.Contracts;
using AuditPipeline.Contracts.Validation;
using AuditPipeline.Emitter;
using Xunit;

namespace AuditPipeline.Contracts.Tests;

public sealed class ContractTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);
    private readonly SampleFleet _fleet = new(3, seed: 11);
    private readonly EventDecoder _decoder = new(new ValidationLimits());

    private AgentActionOccurred Sample() => _fleet.Next(_fleet.Agents[0], Now.AddMinutes(-1));

    [Fact]
    public void Canonical_form_does_not_depend_on_member_order_number_scale_or_time_offset()
    {
        var e = Sample();
        var canonical = ContractJson.SerializeCanonical(e);
        var node = JsonNode.Parse(canonical)!.AsObject();
        // Reverse the member order, write the cost with trailing zeros and the time in another offset.
        var reordered = new JsonObject(node.Reverse().Select(kv => KeyValuePair.Create(kv.Key, kv.Value?.DeepClone())));
        reordered["usage"]!["cost_usd"] = JsonValue.Create(decimal.Parse(e.Usage!.CostUsd.ToString("0.000000000", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture));
        reordered["occurred_at"] = e.OccurredAt.ToOffset(TimeSpan.FromHours(5.5)).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffffzzz", System.Globalization.CultureInfo.InvariantCulture);

        var (decoded, rejection) = _decoder.Decode(Encoding.UTF8.GetBytes(e.Agent.Id), Encoding.UTF8.GetBytes(reordered.ToJsonString()), Now);

        Assert.Null(rejection);
        Assert.Equal(canonical, decoded!.Canonical);
    }

    [Fact]
    public void Canonical_form_is_compact_utc_microseconds_and_omits_nulls()
    {
        var sample = Sample();
        var e = sample with { Context = null, Action = sample.Action with { Input = null }, OccurredAt = new DateTimeOffset(2026, 11, 22, 11, 0, 0, TimeSpan.FromHours(1)).AddTicks(1234567) };
        var text = Encoding.UTF8.GetString(ContractJson.SerializeCanonical(e));

        Assert.Contains("\"occurred_at\":\"2026-11-22T10:00:00.123456Z\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\"context\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain(" ", text.Replace("blocked by policy", "", StringComparison.Ordinal).Replace("agent acts within its delegated scope", "", StringComparison.Ordinal)
            .Replace("resource outside the agent's delegated scope", "", StringComparison.Ordinal).Replace("workflow orchestrator", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.StartsWith("{\"event_id\":", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("{", "malformed_json")]
    [InlineData("not json", "malformed_json")]
    [InlineData("[]", "schema_violation")]
    [InlineData("null", "schema_violation")]
    [InlineData("{\"event_id\":\"6a1f7a4c-6f0e-4d39-9a53-0b0b4f0d2d10\"}", "schema_violation")]
    public void Undecodable_messages_are_rejected_with_a_code(string body, string code)
    {
        var (decoded, rejection) = _decoder.Decode("agent-0000"u8, Encoding.UTF8.GetBytes(body), Now);
        Assert.Null(decoded);
        Assert.Equal(code, rejection!.Code);
        Assert.False(string.IsNullOrWhiteSpace(rejection.Reason));
    }

    [Fact]
    public void Invalid_utf8_in_names_or_values_is_malformed_json()
    {
        byte[][] bodies = [[0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d], [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]];
        foreach (var body in bodies)
        {
            Assert.Equal(RejectCodes.MalformedJson, _decoder.Decode("a"u8, body, Now).Rejection!.Code);
        }
    }

    [Fact]
    public void Missing_required_fields_are_named_in_the_reason()
    {
        var node = JsonNode.Parse(ContractJson.SerializeCanonical(Sample()))!.AsObject();
        node["authorization"]!.AsObject().Remove("policy_id");
        var (_, rejection) = _decoder.Decode("agent-0000"u8, Encoding.UTF8.GetBytes(node.ToJsonString()), Now);
        Assert.Equal(RejectCodes.SchemaViolation, rejection!.Code);
        Assert.Contains("missing required properties: policy_id", rejection.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("AuditPipeline.", rejection.Reason, StringComparison.Ordinal); // no .NET type names for emitters to decode
    }

    [Fact]
    public void Unknown_properties_are_named_in_the_reason()
    {
        var json = Encoding.UTF8.GetString(ContractJson.SerializeCanonical(Sample())).Replace("\"schema_version\":1", "\"schema_version\":1,\"extra\":true", StringComparison.Ordinal);
        var (_, rejection) = _decoder.Decode("agent-0000"u8, Encoding.UTF8.GetBytes(json), Now);
        Assert.Contains("unknown property 'extra'", rejection!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Wrong_types_unknown_members_and_duplicate_keys_are_schema_violations()
    {
        var json = Encoding.UTF8.GetString(ContractJson.SerializeCanonical(Sample()));
        string[] variants =
        [
            json.Replace("\"schema_version\":1", "\"schema_version\":\"1\"", StringComparison.Ordinal),
            json.Replace("\"schema_version\":1", "\"schema_version\":1,\"extra\":true", StringComparison.Ordinal),
            json.Replace("\"schema_version\":1", "\"schema_version\":1,\"schema_version\":1", StringComparison.Ordinal),
            json.Replace("\"decision\":\"", "\"decision\":\"maybe", StringComparison.Ordinal),
            json.Replace("\"occurred_at\":\"", "\"occurred_at\":\"yesterday", StringComparison.Ordinal),
        ];
        foreach (var variant in variants)
        {
            var (_, rejection) = _decoder.Decode("agent-0000"u8, Encoding.UTF8.GetBytes(variant), Now);
            Assert.True(rejection?.Code == RejectCodes.SchemaViolation, $"{rejection?.Code}: {rejection?.Reason} for {variant}");
        }
    }

    [Theory]
    [InlineData("agent")]
    [InlineData("delegation")]
    [InlineData("action")]
    [InlineData("authorization")]
    [InlineData("outcome")]
    public void Null_for_a_required_object_is_a_schema_violation_not_a_crash(string member)
    {
        var node = JsonNode.Parse(ContractJson.SerializeCanonical(Sample()))!.AsObject();
        node[member] = null;
        var (_, rejection) = _decoder.Decode("agent-0000"u8, Encoding.UTF8.GetBytes(node.ToJsonString()), Now);
        Assert.Equal(RejectCodes.SchemaViolation, rejection!.Code);
    }

    [Fact]
    public void Null_lists_and_null_list_entries_are_rejected_not_a_crash()
    {
        var node = JsonNode.Parse(ContractJson.SerializeCanonical(Sample()))!.AsObject();
        node["delegation"]!["chain"] = null;
        Assert.NotNull(_decoder.Decode("agent-0000"u8, Encoding.UTF8.GetBytes(node.ToJsonString()), Now).Rejection);
        node["delegation"]!["chain"] = new JsonArray((JsonNode?)null);
        Assert.NotNull(_decoder.Decode("agent-0000"u8, Encoding.UTF8.GetBytes(node.ToJsonString()), Now).Rejection);
    }

    [Fact]
    public void Enums_given_as_integers_are_schema_violations()
    {
        var json = Encoding.UTF8.GetString(ContractJson.SerializeCanonical(Sample()));
        foreach (var (from, to) in new[] { ("\"decision\":\"allow\"", "\"decision\":0"), ("\"decision\":\"deny\"", "\"decision\":1"), ("\"status\":\"success\"", "\"status\":7") })
        {
            if (!json.Contains(from, StringComparison.Ordinal))
            {
                continue;
            }
            var (_, rejection) = _decoder.Decode("agent-0000"u8, Encoding.UTF8.GetBytes(json.Replace(from, to, StringComparison.Ordinal)), Now);
            Assert.Equal(RejectCodes.SchemaViolation, rejection!.Code);
        }
    }

    // docs/event-contract.md, "A minimal event": no delegation.chain, no authorization.approvals, no usage.
    private const string MinimalEvent = """
        {
          "event_id": "01a202c1-0a2f-7e10-8c3d-5b6a7f8e9d01",
          "occurred_at": "2026-11-22T09:55:35.215Z",
          "schema_version": 1,
          "agent": { "id": "agent-0108", "name": "nightly-reconciler" },
          "delegation": {},
          "action": { "operation": "read", "resource": { "type": "sql-table", "id": "finance.invoices", "sensitivity": "internal" } },
          "authorization": { "decision": "allow", "policy_id": "policy-batch", "policy_version": "v3" },
          "outcome": { "status": "success" }
        }
        """;

    [Fact]
    public void Minimal_documented_event_without_chain_or_approvals_is_accepted()
    {
        var (decoded, rejection) = _decoder.Decode("agent-0108"u8, Encoding.UTF8.GetBytes(MinimalEvent), Now);

        Assert.True(rejection is null, $"{rejection?.Code}: {rejection?.Reason}");
        Assert.Empty(decoded!.Event.Delegation.Chain);
        Assert.Empty(decoded.Event.Authorization.Approvals);
        Assert.Null(decoded.Event.Usage);
    }

    [Fact]
    public void Omitted_members_with_defaults_canonicalize_like_the_explicit_defaults()
    {
        var minimal = JsonNode.Parse(MinimalEvent)!.AsObject();
        minimal["usage"] = new JsonObject();
        var explicitDefaults = JsonNode.Parse(minimal.ToJsonString())!.AsObject();
        explicitDefaults["delegation"]!["chain"] = new JsonArray();
        explicitDefaults["authorization"]!["approvals"] = new JsonArray();
        explicitDefaults["usage"] = new JsonObject { ["input_tokens"] = 0, ["output_tokens"] = 0, ["cost_usd"] = 0, ["duration_ms"] = 0 };

        var (a, ra) = _decoder.Decode("agent-0108"u8, Encoding.UTF8.GetBytes(minimal.ToJsonString()), Now);
        var (b, rb) = _decoder.Decode("agent-0108"u8, Encoding.UTF8.GetBytes(explicitDefaults.ToJsonString()), Now);

        Assert.True(ra is null && rb is null, $"{ra?.Reason} {rb?.Reason}");
        Assert.Equal(Encoding.UTF8.GetString(b!.Canonical), Encoding.UTF8.GetString(a!.Canonical));
        // The canonical form writes the defaults out (docs/event-contract.md, "Canonical form").
        var text = Encoding.UTF8.GetString(a.Canonical);
        Assert.Contains("\"delegation\":{\"chain\":[]}", text, StringComparison.Ordinal);
        Assert.Contains("\"approvals\":[]", text, StringComparison.Ordinal);
        Assert.Contains("\"usage\":{\"input_tokens\":0,\"output_tokens\":0,\"cost_usd\":0,\"duration_ms\":0}", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Timestamps_without_an_offset_are_refused()
    {
        var json = Encoding.UTF8.GetString(ContractJson.SerializeCanonical(Sample()));
        var noOffset = System.Text.RegularExpressions.Regex.Replace(json, "(\"occurred_at\":\"[^\"Z]+)Z\"", "$1\"");
        var (_, rejection) = _decoder.Decode("agent-0000"u8, Encoding.UTF8.GetBytes(noOffset), Now);
        Assert.Equal(RejectCodes.SchemaViolation, rejection!.Code);
        Assert.Contains("offset", rejection.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Semantic_rules_bound_sizes_times_and_identifiers()
    {
        var validator = new EventValidator(new ValidationLimits());
        var e = Sample();
        Assert.Empty(validator.Validate(e, Now));

        var bad = e with
        {
            EventId = Guid.Empty,
            SchemaVersion = 2,
            OccurredAt = Now.AddDays(-31),
            Agent = e.Agent with { Id = "has space", Owner = new string('o', 300) },
            Usage = e.Usage! with { InputTokens = -1, CostUsd = -0.5m },
            Delegation = e.Delegation with { Chain = Enumerable.Repeat(e.Delegation.Chain[0], 65).ToList() },
        };
        var paths = validator.Validate(bad, Now).Select(x => x.Path).ToHashSet();
        Assert.Superset(new HashSet<string>
        {
            "$.event_id", "$.schema_version", "$.agent.id", "$.agent.owner",
            "$.usage.input_tokens", "$.usage.cost_usd", "$.delegation.chain",
        }, paths);
        // Age is the decoder's last check, with a code of its own (too_old), not a field error.
        Assert.DoesNotContain("$.occurred_at", paths);
        Assert.Contains(validator.Validate(e with { OccurredAt = Now.AddMinutes(10) }, Now), x => x.Path == "$.occurred_at");
    }

    [Fact]
    public void An_event_older_than_MaxAge_is_refused_as_too_old_with_how_to_let_it_in()
    {
        var old = Sample() with { OccurredAt = Now.AddDays(-31) };
        var (decoded, rejection) = _decoder.Decode(System.Text.Encoding.UTF8.GetBytes(old.Agent.Id), ContractJson.SerializeCanonical(old), Now);
        Assert.Null(decoded);
        Assert.Equal(RejectCodes.TooOld, rejection!.Code);
        Assert.Contains("Ingest:Validation:MaxAge", rejection.Reason, StringComparison.Ordinal);
        Assert.Equal(old.EventId, rejection.EventId);
    }

    [Fact]
    public void Oversized_messages_are_refused_before_parsing()
    {
        var (_, rejection) = _decoder.Decode("a"u8, new byte[70_000], Now);
        Assert.Equal(RejectCodes.Oversized, rejection!.Code);
    }

    [Fact]
    public void The_message_key_must_be_the_agent_id()
    {
        var body = ContractJson.SerializeCanonical(Sample());
        Assert.Equal(RejectCodes.KeyMismatch, _decoder.Decode("other"u8, body, Now).Rejection!.Code);
        Assert.Equal(RejectCodes.KeyMismatch, _decoder.Decode([], body, Now).Rejection!.Code);
        Assert.Null(_decoder.Decode(Encoding.UTF8.GetBytes(_fleet.Agents[0].Id), body, Now).Rejection);
    }

    [Fact]
    public void Chain_hash_matches_the_documented_byte_layout()
    {
        var prev = SHA256.HashData("previous"u8);
        var id = Guid.Parse("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
        var at = new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero).AddTicks(1230);
        var payload = "{\"x\":1}"u8.ToArray();

        // Independent construction of the documented record.
        var record = new List<byte>();
        record.AddRange(prev);
        record.AddRange("AUDITPIPELINE-CHAIN-V1"u8.ToArray());
        record.AddRange(new byte[] { 0, 7 });
        record.AddRange("agent-1"u8.ToArray());
        record.AddRange(new byte[] { 0, 0, 0, 0, 0, 0, 0, 42 });
        record.AddRange(new byte[] { 0x01, 0x93, 0xa1, 0xb2, 0xc3, 0xd4, 0x7e, 0x5f, 0x8a, 0x9b, 0x0c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b });
        record.AddRange(new byte[] { 0, 15 });
        record.AddRange("agent-action.v1"u8.ToArray());
        var micros = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(micros, (at - DateTimeOffset.UnixEpoch).Ticks / 10);
        record.AddRange(micros);
        record.AddRange(new byte[] { 0, 0, 0, 7 });
        record.AddRange(payload);

        var expected = SHA256.HashData(record.ToArray());
        Assert.Equal(expected, ChainHash.Compute(prev, "agent-1", 42, id, "agent-action.v1", at, payload));
        // Any field change changes the hash.
        Assert.NotEqual(expected, ChainHash.Compute(prev, "agent-1", 43, id, "agent-action.v1", at, payload));
        Assert.NotEqual(expected, ChainHash.Compute(prev, "agent-1", 42, id, "agent-action.v1", at, "{\"x\":2}"u8));
    }

    [Fact]
    public void Json_schema_lists_exactly_the_record_members_and_required_fields()
    {
        var schemaPath = Path.Combine(AppContext.BaseDirectory, "agent-action.v1.schema.json");
        using var schema = JsonDocument.Parse(File.ReadAllText(schemaPath));
        var root = schema.RootElement;
        AssertMatches(typeof(AgentActionOccurred), root, root);
    }

    private static void AssertMatches(Type type, JsonElement objectSchema, JsonElement root)
    {
        var members = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .ToDictionary(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name));
        var properties = objectSchema.GetProperty("properties");
        Assert.Equal(members.Keys.Order(), properties.EnumerateObject().Select(p => p.Name).Order());
        Assert.False(objectSchema.GetProperty("additionalProperties").GetBoolean(), $"{type.Name}: additionalProperties must be false");

        var required = objectSchema.TryGetProperty("required", out var r) ? r.EnumerateArray().Select(x => x.GetString()!).Order().ToList() : [];
        var requiredMembers = members.Where(kv => kv.Value.GetCustomAttribute<System.Runtime.CompilerServices.RequiredMemberAttribute>() is not null)
            .Select(kv => kv.Key).Order().ToList();
        Assert.Equal(requiredMembers, required);

        foreach (var (name, property) in members)
        {
            var nested = Unwrap(property.PropertyType);
            if (nested.IsClass && nested != typeof(string) && nested.Namespace == typeof(AgentActionOccurred).Namespace)
            {
                AssertMatches(nested, Resolve(properties.GetProperty(name), root), root);
            }
        }
    }

    private static Type Unwrap(Type t) =>
        t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IReadOnlyList<>) ? t.GetGenericArguments()[0] : Nullable.GetUnderlyingType(t) ?? t;

    private static JsonElement Resolve(JsonElement element, JsonElement root)
    {
        if (element.TryGetProperty("items", out var items))
        {
            return Resolve(items, root);
        }
        if (element.TryGetProperty("$ref", out var reference))
        {
            var path = reference.GetString()!.TrimStart('#', '/').Split('/');
            return path.Aggregate(root, (e, segment) => e.GetProperty(segment));
        }
        if (element.TryGetProperty("anyOf", out var anyOf) || element.TryGetProperty("oneOf", out anyOf))
        {
            return Resolve(anyOf.EnumerateArray().First(x => x.TryGetProperty("$ref", out _) || x.TryGetProperty("properties", out _)), root);
        }
        return element;
    }
}
