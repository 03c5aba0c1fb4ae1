using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AuditPipeline.Contracts;
using AuditPipeline.Contracts.Validation;
using AuditPipeline.Emitter;
using static AuditPipeline.Testing.HostileValues;
using static AuditPipeline.Testing.JsonPointers;

namespace AuditPipeline.Testing;

/// <summary>
/// Hostile Kafka messages for the fuzz run: each is a valid event changed in one way an emitter (or
/// an attacker) could get wrong — truncation, type swaps, deep nesting, huge and compressible
/// values, invalid UTF-8, lone surrogates, duplicate members, wrong keys, numbers at the limits,
/// missing and extra members — with the reject codes it may get and what its reason must name.
/// Everything is drawn from one seed, so a failing run reproduces from its seed.
/// </summary>
public sealed class HostileEvents
{
    public const string Marker = "FUZZ-MARK-7f3a";

    private delegate FuzzMessage Mutation(int index);

    private readonly Random _random;
    private readonly SampleFleet _fleet;
    private readonly DateTimeOffset _now;
    private readonly (string Kind, int Weight, Mutation Make)[] _mutations;
    private readonly int _totalWeight;

    public HostileEvents(int seed, DateTimeOffset now, int agents = 50)
    {
        Seed = seed;
        _random = new Random(seed);
        _fleet = new SampleFleet(agents, seed);
        _now = now;
        _mutations =
        [
            ("truncated", 10, Truncated),
            ("type_swap", 10, TypeSwap),
            ("deep_nesting", 4, DeepNesting),
            ("too_deep", 3, TooDeep),
            ("huge_value", 5, HugeValue),
            ("oversized", 1, Oversized),
            ("invalid_utf8", 8, InvalidUtf8InString),
            ("invalid_utf8_outside_strings", 2, InvalidUtf8Outside),
            ("lone_surrogate", 6, LoneSurrogate),
            ("duplicate_member", 6, DuplicateMember),
            ("wrong_key", 6, WrongKey),
            ("number_at_limit", 8, NumberAtLimit),
            ("not_a_json_number", 4, NotAJsonNumber),
            ("missing_member", 8, MissingMember),
            ("extra_member", 8, ExtraMember),
            ("bad_string", 10, BadString),
            ("too_many_entries", 2, TooManyEntries),
            ("not_an_object", 2, NotAnObject),
            ("framing", 3, Framing),
            ("clock", 3, Clock),
            ("empty", 1, Empty),
        ];
        _totalWeight = _mutations.Sum(m => m.Weight);
    }

    public int Seed { get; }

    /// <summary>The seed from <c>FUZZ_SEED</c>, else a fresh one (printed by the caller, so the run can be repeated).</summary>
    public static int SeedFromEnvironment(string variable = "FUZZ_SEED") =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed)
            ? seed
            : Random.Shared.Next();

    public IReadOnlyList<string> Kinds => [.. _mutations.Select(m => m.Kind)];

    /// <summary><paramref name="hostile"/> mutations with a valid event after every <paramref name="hostilePerValid"/> of them.</summary>
    public List<FuzzMessage> Generate(int hostile, int hostilePerValid)
    {
        var messages = new List<FuzzMessage>(hostile + (hostile / hostilePerValid) + 1);
        for (var i = 0; i < hostile; i++)
        {
            messages.Add(NextHostile(messages.Count));
            if ((i + 1) % hostilePerValid == 0)
            {
                messages.Add(NextValid(messages.Count));
            }
        }
        return messages;
    }

    public FuzzMessage NextValid(int index)
    {
        var e = BaseEvent();
        return new FuzzMessage(index, "valid", Encoding.UTF8.GetBytes(e.Agent.Id), ContractJson.SerializeCanonical(e), e.EventId, [], ReasonNames.Nothing, null);
    }

    public FuzzMessage NextHostile(int index)
    {
        var pick = _random.Next(_totalWeight);
        foreach (var (_, weight, make) in _mutations)
        {
            if (pick < weight)
            {
                return make(index);
            }
            pick -= weight;
        }
        throw new InvalidOperationException("unreachable");
    }

    // ---- mutations ----

    private FuzzMessage Truncated(int index)
    {
        var (e, json) = Base();
        var bytes = Encoding.UTF8.GetBytes(json.ToJsonString());
        var cut = 1 + _random.Next(bytes.Length - 1);
        return Hostile(index, "truncated", e, bytes[..cut], ReasonNames.Position, null, Codes.Malformed);
    }

    private FuzzMessage TypeSwap(int index)
    {
        var (e, json) = Base();
        var (pointer, node) = Pick(Members(json));
        var kind = node?.GetValueKind();
        var replacements = ScalarsForSwap.Where(s => JsonNode.Parse(s)?.GetValueKind() != kind).ToArray();
        return Raw(index, "type_swap", e, json, pointer, Pick(replacements), ReasonNames.Field, pointer, Codes.Schema);
    }

    private FuzzMessage DeepNesting(int index)
    {
        var (e, json) = Base();
        var (pointer, _) = Pick(Members(json));
        // Within the parser's 64 levels: the schema sees it and names the member.
        var depth = 17 + _random.Next(64 - 17 - Depth(pointer) - 2);
        return Raw(index, "deep_nesting", e, json, pointer, Nest(depth), ReasonNames.FieldOrBelow, pointer, Codes.Schema);
    }

    private FuzzMessage TooDeep(int index)
    {
        var (e, json) = Base();
        var (pointer, _) = Pick(Members(json));
        var depth = 65 + _random.Next(3000);
        return Raw(index, "too_deep", e, json, pointer, Nest(depth), ReasonNames.FieldOrBelow, pointer, Codes.Malformed);
    }

    private FuzzMessage HugeValue(int index)
    {
        var (e, json) = Base();
        // Longer than the field allows, within the 64 KiB message limit: the schema names the member.
        var pointer = Pick(Present(json, [.. Ids, .. Texts]));
        var max = pointer == "/action/input" ? 32_768 : pointer == "/action/resource/id" ? 1024 : Ids.Contains(Normalize(pointer)) ? 256 : 4096;
        var length = max + 1 + _random.Next(Math.Min(max * 4, 60_000 - max - json.ToJsonString().Length));
        Set(json, pointer, Compressible(length));
        return Hostile(index, "huge_value", e, Encoding.UTF8.GetBytes(json.ToJsonString()), ReasonNames.Field, pointer, Codes.Schema);
    }

    private FuzzMessage Oversized(int index)
    {
        var (e, json) = Base();
        // Past MaxEventBytes (64 KiB) up to a few MB, highly compressible: the broker takes it, the ingest must not parse it.
        var length = (int)Math.Exp(Math.Log(66_000) + (_random.NextDouble() * (Math.Log(3_000_000) - Math.Log(66_000))));
        Set(json, Pick(Present(json, Texts)), Compressible(length));
        return Hostile(index, "oversized", e, Encoding.UTF8.GetBytes(json.ToJsonString()), ReasonNames.Size, null, [RejectCodes.Oversized]);
    }

    private FuzzMessage InvalidUtf8InString(int index)
    {
        var (e, json) = Base();
        var pointer = Pick(Strings(json));
        var value = Splice(json, pointer, Pick(InvalidUtf8));
        return Hostile(index, "invalid_utf8", e, value, ReasonNames.Field, pointer, Codes.Malformed);
    }

    private FuzzMessage InvalidUtf8Outside(int index)
    {
        var (e, json) = Base();
        // A stray byte between tokens: there is no member, only a position.
        var bytes = Encoding.UTF8.GetBytes(json.ToJsonString());
        var commas = Enumerable.Range(0, bytes.Length).Where(i => bytes[i] == (byte)',').ToArray();
        var at = Pick(commas) + 1;
        byte[] value = [.. bytes[..at], .. Pick(InvalidUtf8), .. bytes[at..]];
        return Hostile(index, "invalid_utf8_outside_strings", e, value, ReasonNames.Position, null, Codes.Malformed);
    }

    private FuzzMessage LoneSurrogate(int index)
    {
        var (e, json) = Base();
        var pointer = Pick(Strings(json));
        var value = Splice(json, pointer, Encoding.ASCII.GetBytes(Pick(LoneSurrogates)));
        return Hostile(index, "lone_surrogate", e, value, ReasonNames.Field, pointer, [RejectCodes.MalformedJson, RejectCodes.SchemaViolation]);
    }

    private FuzzMessage DuplicateMember(int index)
    {
        var (e, json) = Base();
        var (pointer, node) = Pick(Members(json).Where(m => !IsIndex(m.Pointer)).ToList());
        var (parent, name) = Split(pointer);
        // The same value again, or another one: either way the member is given twice.
        var again = _random.Next(2) == 0 ? node?.DeepClone() : JsonValue.Create("other");
        ((JsonObject)Get(json, parent)!)[Marker] = again;
        var text = json.ToJsonString().Replace(JsonSerializer.Serialize(Marker), JsonSerializer.Serialize(name), StringComparison.Ordinal);
        return Hostile(index, "duplicate_member", e, Encoding.UTF8.GetBytes(text), ReasonNames.Field, pointer, Codes.Schema);
    }

    private FuzzMessage WrongKey(int index)
    {
        var e = BaseEvent();
        var id = e.Agent.Id;
        var other = _fleet.Agents.First(a => a.Id != id).Id;
        byte[]?[] keys =
        [
            Encoding.UTF8.GetBytes(other), null, [], Encoding.UTF8.GetBytes(id + " "), Encoding.UTF8.GetBytes(" " + id),
            Encoding.UTF8.GetBytes(id.ToUpperInvariant()), [.. Encoding.UTF8.GetBytes(id), 0], [.. Encoding.UTF8.GetBytes(id), 0xFF],
            Encoding.UTF8.GetBytes(id[..^1]), Encoding.UTF8.GetBytes(id.Normalize(NormalizationForm.FormD) + "\u0301"),
            Encoding.UTF8.GetBytes(new string('k', 99) + "🤖" + id), Encoding.UTF8.GetBytes(new string('x', 5000)),
        ];
        var key = keys[_random.Next(keys.Length)];
        return new FuzzMessage(index, "wrong_key", key, ContractJson.SerializeCanonical(e), null, [RejectCodes.KeyMismatch], ReasonNames.Key, null);
    }

    private FuzzMessage NumberAtLimit(int index)
    {
        var (e, json) = Base(withUsage: true);
        var pointer = Pick((string[])["/schema_version", "/usage/cost_usd", .. IntegerFields]);
        var token = pointer == "/schema_version" ? Pick(BadSchemaVersions) : pointer == "/usage/cost_usd" ? Pick(BadCosts) : Pick(BadIntegers);
        return Raw(index, "number_at_limit", e, json, pointer, token, ReasonNames.Field, pointer, Codes.Schema);
    }

    private FuzzMessage NotAJsonNumber(int index)
    {
        var (e, json) = Base(withUsage: true);
        var pointer = Pick((string[])["/schema_version", "/usage/cost_usd", .. IntegerFields]);
        return Raw(index, "not_a_json_number", e, json, pointer, Pick(NotJsonNumbers), ReasonNames.Field, pointer, Codes.Malformed);
    }

    private FuzzMessage MissingMember(int index)
    {
        var (e, json) = Base();
        var (pointer, _) = Pick(Members(json).Where(m => Required.Contains(Normalize(m.Pointer))).ToList());
        var (parent, name) = Split(pointer);
        ((JsonObject)Get(json, parent)!).Remove(name);
        return Hostile(index, "missing_member", e, Encoding.UTF8.GetBytes(json.ToJsonString()), ReasonNames.MissingMember, pointer, Codes.Schema);
    }

    private FuzzMessage ExtraMember(int index)
    {
        var (e, json) = Base();
        var objects = Members(json).Where(m => m.Node is JsonObject).Select(m => m.Pointer).Prepend("").ToList();
        var parent = Pick(objects);
        var name = Pick(ExtraNames);
        ((JsonObject)Get(json, parent)!)[name] = JsonNode.Parse(Pick(ScalarsForSwap.Where(s => s != "null").ToArray()));
        return Hostile(index, "extra_member", e, Encoding.UTF8.GetBytes(json.ToJsonString()), ReasonNames.Field, parent + "/" + Escape(name), Codes.Schema);
    }

    private FuzzMessage BadString(int index)
    {
        var (e, json) = Base();
        var choices = new List<(string Pointer, string[] Values)>();
        choices.AddRange(Present(json, Ids).Select(p => (p, BadIds)));
        choices.AddRange(Present(json, Texts).Select(p => (p, BadTexts)));
        choices.AddRange(Present(json, EnumFields).Select(p => (p, BadEnums)));
        choices.AddRange(Present(json, TimestampFields).Select(p => (p, BadTimestamps)));
        choices.AddRange(Present(json, Redactable).Select(p => (p, (string[])["enc:v1:k1:AAAA", "hmac:v1:AAAA", "enc:v1:"])));
        choices.Add(("/event_id", BadUuids));
        var (pointer, values) = Pick(choices);
        Set(json, pointer, Pick(values));
        return Hostile(index, "bad_string", e, Encoding.UTF8.GetBytes(json.ToJsonString()), ReasonNames.Field, pointer, Codes.Schema);
    }

    private FuzzMessage TooManyEntries(int index)
    {
        var (e, json) = Base();
        var pointer = _random.Next(2) == 0 ? "/delegation/chain" : "/authorization/approvals";
        var entry = pointer == "/delegation/chain"
            ? new JsonObject { ["type"] = "agent", ["id"] = "relay" }
            : new JsonObject { ["approver"] = "erin@example.com", ["approved_at"] = "2026-11-22T10:12:30Z" };
        var list = new JsonArray();
        for (var i = 0; i < 65 + _random.Next(200); i++)
        {
            list.Add(entry.DeepClone());
        }
        Set(json, pointer, list);
        return Hostile(index, "too_many_entries", e, Encoding.UTF8.GetBytes(json.ToJsonString()), ReasonNames.Field, pointer, Codes.Schema);
    }

    private FuzzMessage NotAnObject(int index)
    {
        var (e, json) = Base();
        string[] values = ["[]", "null", "\"event\"", "42", "true", "[" + json.ToJsonString() + "]", "\"" + JsonEncodedText.Encode(json.ToJsonString()) + "\""];
        return Hostile(index, "not_an_object", e, Encoding.UTF8.GetBytes(Pick(values)), ReasonNames.Root, null, Codes.Schema);
    }

    private FuzzMessage Framing(int index)
    {
        var (e, json) = Base();
        var text = json.ToJsonString();
        byte[][] values =
        [
            [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(text)], // byte-order mark
            Encoding.UTF8.GetBytes(text + " x"),
            Encoding.UTF8.GetBytes(text + text),
            Encoding.UTF8.GetBytes(text + ","),
            Encoding.UTF8.GetBytes(text.Replace("}", ",}", StringComparison.Ordinal)), // trailing commas
            Encoding.UTF8.GetBytes("/* c */" + text),
            Encoding.UTF8.GetBytes(text.Replace("\"", "'", StringComparison.Ordinal)),
        ];
        return Hostile(index, "framing", e, Pick(values), ReasonNames.Position, null, Codes.Malformed);
    }

    private FuzzMessage Clock(int index)
    {
        var e = BaseEvent();
        var future = _now.AddHours(1 + _random.Next(1000));
        return _random.Next(3) switch
        {
            0 => Hostile(index, "clock", e, ContractJson.SerializeCanonical(e with { OccurredAt = future }), ReasonNames.Field, "/occurred_at", [RejectCodes.InvalidField]),
            1 when e.Authorization.Approvals.Count > 0 => Hostile(index, "clock", e, ContractJson.SerializeCanonical(e with
            {
                Authorization = e.Authorization with { Approvals = [e.Authorization.Approvals[0] with { ApprovedAt = future }] },
            }), ReasonNames.Field, "/authorization/approvals/0/approved_at", [RejectCodes.InvalidField]),
            _ => Hostile(index, "clock", e, ContractJson.SerializeCanonical(e with { OccurredAt = _now.AddDays(-31 - _random.Next(3000)) }),
                ReasonNames.Field, "/occurred_at", [RejectCodes.TooOld]),
        };
    }

    private FuzzMessage Empty(int index)
    {
        var e = BaseEvent();
        return Hostile(index, "empty", e, [], ReasonNames.Nothing, null, [RejectCodes.Empty]);
    }

    // ---- building blocks ----

    private static class Codes
    {
        public static readonly string[] Malformed = [RejectCodes.MalformedJson];
        public static readonly string[] Schema = [RejectCodes.SchemaViolation];
    }

    private static FuzzMessage Hostile(int index, string kind, AgentActionOccurred e, byte[] value, ReasonNames names, string? field, string[] codes) =>
        new(index, kind, Encoding.UTF8.GetBytes(e.Agent.Id), value, null, codes, names, field);

    /// <summary>The member at <paramref name="pointer"/> written as the raw JSON text <paramref name="token"/>.</summary>
    private static FuzzMessage Raw(int index, string kind, AgentActionOccurred e, JsonObject json, string pointer, string token, ReasonNames names, string field, string[] codes)
    {
        Set(json, pointer, Marker);
        var text = json.ToJsonString().Replace(JsonSerializer.Serialize(Marker), token, StringComparison.Ordinal);
        return Hostile(index, kind, e, Encoding.UTF8.GetBytes(text), names, field, codes);
    }

    /// <summary>The JSON with <paramref name="bytes"/> inserted, as they are, into the string at <paramref name="pointer"/>.</summary>
    private byte[] Splice(JsonObject json, string pointer, byte[] bytes)
    {
        var original = Get(json, pointer)!.GetValue<string>();
        var at = _random.Next(original.Length + 1);
        Set(json, pointer, original[..at] + Marker + original[at..]);
        var text = Encoding.UTF8.GetBytes(json.ToJsonString());
        var marker = Encoding.ASCII.GetBytes(Marker);
        var i = text.AsSpan().IndexOf(marker);
        return [.. text[..i], .. bytes, .. text[(i + marker.Length)..]];
    }

    private AgentActionOccurred BaseEvent()
    {
        var agent = _fleet.Agents[_random.Next(_fleet.Agents.Count)];
        var at = _now.AddMilliseconds(-_random.Next(1, 600_000));
        var e = _fleet.Next(agent, at);
        Span<byte> id = stackalloc byte[16];
        _random.NextBytes(id);
        id[6] = (byte)((id[6] & 0x0F) | 0x70); // version 7
        id[8] = (byte)((id[8] & 0x3F) | 0x80); // RFC 9562 variant
        var hex = Convert.ToHexStringLower(id);
        e = e with
        {
            EventId = Guid.ParseExact(hex, "N"),
            Context = e.Context! with { TraceId = hex, PromptHash = "sha256:" + hex + hex },
        };
        // Now and then the documented minimal shape: no usage, context, chain or approvals.
        return _random.Next(5) != 0 ? e : e with
        {
            Delegation = new Delegation(),
            Authorization = e.Authorization with { Approvals = [], Rule = null, Reason = null, DecisionId = null, GrantExpiresAt = null },
            Usage = null,
            Context = null,
        };
    }

    private (AgentActionOccurred Event, JsonObject Json) Base(bool withUsage = false)
    {
        var e = BaseEvent();
        if (withUsage && e.Usage is null)
        {
            e = e with { Usage = new Usage { InputTokens = 10, OutputTokens = 20, CostUsd = 0.01m, DurationMs = 30 } };
        }
        return (e, JsonNode.Parse(ContractJson.SerializeCanonical(e))!.AsObject());
    }

    private string Nest(int depth)
    {
        var open = new StringBuilder();
        var close = new StringBuilder();
        for (var i = 0; i < depth; i++)
        {
            if (_random.Next(2) == 0)
            {
                open.Append('[');
                close.Insert(0, ']');
            }
            else
            {
                open.Append("{\"a\":");
                close.Insert(0, '}');
            }
        }
        return open.Append("null").Append(close).ToString();
    }

    /// <summary>ASCII, so that <paramref name="length"/> characters are as many bytes.</summary>
    private string Compressible(int length)
    {
        var unit = Pick((string[])["A", "ab", "0123456789", "agent ", "[1,2] "]);
        var builder = new StringBuilder(length + unit.Length);
        while (builder.Length < length)
        {
            builder.Append(unit);
        }
        return builder.ToString(0, length);
    }

    private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];
}
