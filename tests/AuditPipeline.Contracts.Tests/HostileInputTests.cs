using System.Text;
using AuditPipeline.Contracts;
using AuditPipeline.Contracts.Validation;
using AuditPipeline.Emitter;
using AuditPipeline.Testing;
using Xunit;
using Xunit.Abstractions;

namespace AuditPipeline.Contracts.Tests;

/// <summary>
/// The fuzz run's mutations through the decoder in-process (the integration FuzzTests send them
/// through the real ingest): a quick check that every one is refused with a reason saying where.
/// </summary>
public sealed class HostileInputTests(ITestOutputHelper output)
{
    [Fact]
    public void Every_hostile_mutation_is_refused_with_a_reason_that_names_the_field_or_position()
    {
        var seed = HostileEvents.SeedFromEnvironment();
        output.WriteLine($"seed {seed} (set FUZZ_SEED={seed} to repeat)");
        var now = DateTimeOffset.UtcNow;
        var messages = new HostileEvents(seed, now).Generate(hostile: 4000, hostilePerValid: 4);
        var decoder = new EventDecoder(new ValidationLimits());

        var failures = new List<string>();
        var time = new Dictionary<string, TimeSpan>();
        foreach (var m in messages)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var (decoded, rejection) = decoder.Decode(m.Key ?? [], m.Value, now);
            time[m.Kind] = time.GetValueOrDefault(m.Kind) + System.Diagnostics.Stopwatch.GetElapsedTime(started);
            var problem = m.IsHostile
                ? rejection is null ? "accepted" : m.Judge(rejection.Code, rejection.Reason)
                : rejection is null ? null : $"valid event refused ({rejection.Code})";
            if (problem is not null)
            {
                failures.Add($"#{m.Index} {m.Kind} {m.Field}: {problem}; reason: {rejection?.Reason}; value: {Preview(m.Value)}");
            }
        }

        output.WriteLine("decode time by kind: " + string.Join(", ", time.OrderByDescending(t => t.Value).Select(t => $"{t.Key}={t.Value.TotalMilliseconds:0}ms")));
        Assert.True(failures.Count == 0, $"seed {seed}: {failures.Count} of {messages.Count} wrong:\n{string.Join("\n", failures.Take(40))}");
    }

    [Fact]
    public void The_same_seed_gives_the_same_messages()
    {
        var now = DateTimeOffset.UtcNow;
        var first = new HostileEvents(1234, now).Generate(hostile: 500, hostilePerValid: 4);
        var second = new HostileEvents(1234, now).Generate(hostile: 500, hostilePerValid: 4);
        var other = new HostileEvents(1235, now).Generate(hostile: 500, hostilePerValid: 4);

        Assert.Equal(first.Select(m => (m.Kind, m.Field, Convert.ToHexString(m.Value))), second.Select(m => (m.Kind, m.Field, Convert.ToHexString(m.Value))));
        Assert.NotEqual(first.Select(m => m.Kind), other.Select(m => m.Kind));
    }

    // Bugs the fuzz run found, each pinned by itself.

    private static readonly DateTimeOffset Now = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);
    private readonly EventDecoder _decoder = new(new ValidationLimits());

    private static string Json()
    {
        var fleet = new SampleFleet(1, seed: 3);
        return Encoding.UTF8.GetString(ContractJson.SerializeCanonical(fleet.Next(fleet.Agents[0], Now.AddMinutes(-1))));
    }

    private Rejection? Decode(string json) => Decode(Encoding.UTF8.GetBytes(json));

    private Rejection? Decode(byte[] value) => _decoder.Decode("agent-0000"u8, value, Now).Rejection;

    [Theory]
    [InlineData("schema_version", "0.999999999999999999999999999999", "/schema_version")]
    [InlineData("input_tokens", "1830.0000000000000000000000000000001", "/usage/input_tokens")]
    [InlineData("cost_usd", "0.0086950000000000000000000000000001", "/usage/cost_usd")]
    [InlineData("cost_usd", "1000000.00000000000000000000000001", "/usage/cost_usd")]
    public void Digits_past_decimal_precision_are_not_rounded_away(string member, string number, string field)
    {
        // decimal keeps 28 digits: 0.999…9 (30 nines) became schema_version 1 and was stored, and a cost
        // just past the maximum was stored as exactly the maximum.
        var rejection = Decode(WithNumber(member, number));

        Assert.NotNull(rejection);
        Assert.Equal(RejectCodes.SchemaViolation, rejection.Code);
        Assert.True(ReasonCheck.NamesPointer(rejection.Reason, field), rejection.Reason);
    }

    [Fact]
    public void Integers_written_with_a_long_zero_fraction_or_an_exponent_are_still_integers()
    {
        var json = WithNumber("schema_version", "1.000000000000000000000000000000000");
        json = System.Text.RegularExpressions.Regex.Replace(json, "\"input_tokens\":[0-9]+", "\"input_tokens\":1.83e3");

        var (decoded, rejection) = _decoder.Decode("agent-0000"u8, Encoding.UTF8.GetBytes(json), Now);

        Assert.Null(rejection);
        Assert.Equal(1830, decoded!.Event.Usage!.InputTokens);
    }

    [Fact]
    public void A_cost_with_trailing_zeros_or_an_exponent_is_kept_exactly()
    {
        var (decoded, rejection) = _decoder.Decode("agent-0000"u8, Encoding.UTF8.GetBytes(WithNumber("cost_usd", "8.6950000000000000000000000000000000e-3")), Now);

        Assert.Null(rejection);
        Assert.Equal(0.008695m, decoded!.Event.Usage!.CostUsd);
    }

    private static string WithNumber(string member, string number) =>
        System.Text.RegularExpressions.Regex.Replace(Json(), $"\"{member}\":[0-9.]+", $"\"{member}\":{number}");

    [Fact]
    public void Invalid_utf8_is_reported_with_its_member_byte_offset_and_bytes()
    {
        var bytes = Encoding.UTF8.GetBytes(Json());
        var at = bytes.AsSpan().IndexOf("\"name\":\""u8) + 9;
        bytes[at] = 0xFF;

        var rejection = Decode(bytes);

        Assert.Equal(RejectCodes.MalformedJson, rejection!.Code);
        Assert.Contains($"at /agent/name (byte {at}): invalid UTF-8 (0xFF)", rejection.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_escaped_lone_surrogate_is_reported_with_its_member()
    {
        // Before: "Cannot read invalid UTF-16 JSON text as string. Invalid surrogate value: '0xDC00'." and no member.
        var rejection = Decode(Json().Replace("\"operation\":\"", "\"operation\":\"\\udc00", StringComparison.Ordinal));

        Assert.Equal(RejectCodes.MalformedJson, rejection!.Code);
        Assert.Contains("at /action/operation (byte ", rejection.Reason, StringComparison.Ordinal);
        Assert.Contains("unpaired surrogate", rejection.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"duration_ms\":", "\"duration_ms\":NaN,\"_\":", "at /usage/duration_ms (byte ")]
    [InlineData("\"id\":\"", "\"id\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"", "at /agent/id/0/0/0/0/0/0/… (byte ")]
    public void Syntax_errors_name_the_member_being_read_and_the_byte(string member, string replacement, string expected)
    {
        var rejection = Decode(Json().Replace(member, replacement, StringComparison.Ordinal));

        Assert.Equal(RejectCodes.MalformedJson, rejection!.Code);
        Assert.Contains(expected, rejection.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", rejection.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_event_names_where_it_stops()
    {
        var json = Json();
        var cut = json.IndexOf("\"policy_id\":\"", StringComparison.Ordinal) + 15;

        var rejection = Decode(json[..cut]);

        Assert.Equal(RejectCodes.MalformedJson, rejection!.Code);
        Assert.Contains($"at /authorization/policy_id (byte {cut})", rejection.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_number_past_the_range_of_a_double_is_named_not_an_unexplained_format_error()
    {
        // Before: "Does not match the agent-action v1 schema: One of the identified items was in an invalid format."
        var rejection = Decode(Json().Replace("\"schema_version\":1", "\"schema_version\":1e309", StringComparison.Ordinal));

        Assert.Equal(RejectCodes.SchemaViolation, rejection!.Code);
        Assert.Contains("/schema_version", rejection.Reason, StringComparison.Ordinal);
        Assert.Contains("1e309", rejection.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_mismatch_shows_the_key_and_the_agent_id()
    {
        // Before: "The message key must equal agent.id" with neither value, so a trailing space or NUL in a key was invisible.
        var (_, rejection) = _decoder.Decode("agent-0000\0"u8, Encoding.UTF8.GetBytes(Json()), Now);

        Assert.Equal(RejectCodes.KeyMismatch, rejection!.Code);
        Assert.Contains("key \"agent-0000\\u0000\" must equal agent.id \"agent-0000\"", rejection.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_long_key_is_shown_shortened_without_splitting_a_character()
    {
        // 99 characters, then an emoji (a surrogate pair) across the cut at 100.
        var key = Encoding.UTF8.GetBytes(new string('k', 99) + "🤖" + "tail");

        var (_, rejection) = _decoder.Decode(key, Encoding.UTF8.GetBytes(Json()), Now);

        Assert.Equal(RejectCodes.KeyMismatch, rejection!.Code);
        Assert.Contains(new string('k', 99) + "…\" must equal agent.id", rejection.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_member_name_with_a_newline_or_a_bidi_override_cannot_forge_a_line_of_the_reason()
    {
        // The name arrives JSON-escaped; decoded, it would put a fake log line (or reversed text) in the reason.
        var json = Json();
        json = json[..^1] + ",\"evil\\n2026-12-02 INFO all good \\u202Etxt.exe\":1}";

        var (_, rejection) = _decoder.Decode("agent-0000"u8, Encoding.UTF8.GetBytes(json), Now);

        Assert.Equal(RejectCodes.SchemaViolation, rejection!.Code);
        Assert.DoesNotContain('\n', rejection.Reason);
        Assert.DoesNotContain('\u202E', rejection.Reason);
        Assert.Contains("evil\\u000A2026-12-02 INFO all good \\u202Etxt.exe", rejection.Reason, StringComparison.Ordinal);
    }

    private static string Preview(byte[] value) =>
        value.Length <= 300 ? Encoding.UTF8.GetString(value) : Encoding.UTF8.GetString(value[..300]) + $"… ({value.Length} bytes)";
}
