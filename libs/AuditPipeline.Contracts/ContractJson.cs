using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace AuditPipeline.Contracts;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AgentActionOccurred))]
[JsonSerializable(typeof(AgentAlert))]
[JsonSerializable(typeof(ApiCallRecorded))]
[JsonSerializable(typeof(ApiCallsAggregated))]
[JsonSerializable(typeof(RetentionRecorded))]
[JsonSerializable(typeof(ApiKeyRecorded))]
[JsonSerializable(typeof(AgentScopeChanged))]
internal sealed partial class ContractJsonContext : JsonSerializerContext;

/// <summary>
/// The one place that reads and writes the event contract's JSON. Writing produces the
/// canonical form that is stored and hashed (docs/event-contract.md, "Canonical form"):
/// compact UTF-8, members in schema order, nulls omitted, timestamps as UTC with exactly six
/// fractional digits, decimals without trailing zeros, only the escapes JSON requires.
/// </summary>
public static class ContractJson
{
    private static readonly JsonSerializerOptions Options = CreateOptions();
    private static readonly JsonTypeInfo<AgentActionOccurred> EventInfo =
        (JsonTypeInfo<AgentActionOccurred>)Options.GetTypeInfo(typeof(AgentActionOccurred));
    private static readonly JsonTypeInfo<AgentAlert> AlertInfo =
        (JsonTypeInfo<AgentAlert>)Options.GetTypeInfo(typeof(AgentAlert));
    private static readonly JsonTypeInfo<ApiCallRecorded> ApiCallInfo =
        (JsonTypeInfo<ApiCallRecorded>)Options.GetTypeInfo(typeof(ApiCallRecorded));
    private static readonly JsonTypeInfo<ApiCallsAggregated> ApiCallsAggregatedInfo =
        (JsonTypeInfo<ApiCallsAggregated>)Options.GetTypeInfo(typeof(ApiCallsAggregated));

    private static readonly JsonTypeInfo<RetentionRecorded> RetentionInfo =
        (JsonTypeInfo<RetentionRecorded>)Options.GetTypeInfo(typeof(RetentionRecorded));

    private static readonly JsonTypeInfo<ApiKeyRecorded> ApiKeyInfo =
        (JsonTypeInfo<ApiKeyRecorded>)Options.GetTypeInfo(typeof(ApiKeyRecorded));
    private static readonly JsonTypeInfo<AgentScopeChanged> ScopeInfo =
        (JsonTypeInfo<AgentScopeChanged>)Options.GetTypeInfo(typeof(AgentScopeChanged));

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            TypeInfoResolver = ContractJsonContext.Default,
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            // Hostile input: unknown members, duplicate keys and deep nesting are rejected, not guessed at.
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            AllowDuplicateProperties = false,
            // "agent": null is refused like a missing member, not passed on as a null.
            RespectNullableAnnotations = true,
            MaxDepth = 16,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            WriteIndented = false,
        };
        options.Converters.Add(new UtcMicrosecondsConverter());
        options.Converters.Add(new NormalizedDecimalConverter());
        options.Converters.Add(new IntegralConverter<long>(d => (long)d));
        options.Converters.Add(new IntegralConverter<int>(d => (int)d));
        options.MakeReadOnly();
        return options;
    }

    /// <summary>Parses an event; throws <see cref="JsonException"/> with a path on schema errors.</summary>
    public static AgentActionOccurred Deserialize(ReadOnlySpan<byte> utf8Json) =>
        JsonSerializer.Deserialize(utf8Json, EventInfo)
        ?? throw new JsonException("The event is JSON null.");

    public static byte[] SerializeCanonical(AgentActionOccurred e) => JsonSerializer.SerializeToUtf8Bytes(e, EventInfo);

    /// <summary>Alert events use the same canonical rules as actions (they are stored and hashed the same way).</summary>
    public static byte[] SerializeCanonical(AgentAlert alert) => JsonSerializer.SerializeToUtf8Bytes(alert, AlertInfo);

    public static byte[] SerializeCanonical(ApiCallRecorded call) => JsonSerializer.SerializeToUtf8Bytes(call, ApiCallInfo);

    public static byte[] SerializeCanonical(ApiCallsAggregated calls) => JsonSerializer.SerializeToUtf8Bytes(calls, ApiCallsAggregatedInfo);

    public static byte[] SerializeCanonical(RetentionRecorded r) => JsonSerializer.SerializeToUtf8Bytes(r, RetentionInfo);

    public static byte[] SerializeCanonical(ApiKeyRecorded k) => JsonSerializer.SerializeToUtf8Bytes(k, ApiKeyInfo);

    public static byte[] SerializeCanonical(AgentScopeChanged s) => JsonSerializer.SerializeToUtf8Bytes(s, ScopeInfo);

    public static AgentScopeChanged DeserializeScope(ReadOnlySpan<byte> utf8Json) =>
        JsonSerializer.Deserialize(utf8Json, ScopeInfo) ?? throw new JsonException("agent-scope.v1 is null");

    public static RetentionRecorded DeserializeRetention(ReadOnlySpan<byte> utf8Json) =>
        JsonSerializer.Deserialize(utf8Json, RetentionInfo)
        ?? throw new JsonException("The retention record is JSON null.");

    public static ApiCallRecorded DeserializeApiCall(ReadOnlySpan<byte> utf8Json) =>
        JsonSerializer.Deserialize(utf8Json, ApiCallInfo)
        ?? throw new JsonException("The API call record is JSON null.");

    public static ApiCallsAggregated DeserializeApiCallsAggregated(ReadOnlySpan<byte> utf8Json) =>
        JsonSerializer.Deserialize(utf8Json, ApiCallsAggregatedInfo)
        ?? throw new JsonException("The aggregated API call record is JSON null.");

    public static AgentAlert DeserializeAlert(ReadOnlySpan<byte> utf8Json) =>
        JsonSerializer.Deserialize(utf8Json, AlertInfo)
        ?? throw new JsonException("The alert is JSON null.");

    /// <summary>True when the bytes are syntactically valid JSON (used to name the failure kind).</summary>
    public static bool IsWellFormedJson(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = 64 });
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName)
                {
                    reader.GetString(); // forces UTF-8 validation of names and string contents
                }
            }
            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Timestamps are strict RFC 3339 (<see cref="Timestamps.TryParseRfc3339"/>); they are kept as UTC truncated to microseconds.</summary>
    private sealed class UtcMicrosecondsConverter : JsonConverter<DateTimeOffset>
    {
        private const string Format = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                throw new JsonException("A timestamp must be " + Timestamps.Rfc3339Form + ".");
            }
            if (!Timestamps.TryParseRfc3339(reader.GetString(), out var value, out var problem))
            {
                throw new JsonException("A timestamp " + problem + ".");
            }
            return value;
        }

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(Timestamps.ToUtcMicroseconds(value).ToString(Format, CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// JSON has one number type and JSON Schema's "integer" is any number with no fraction, so
    /// 1830.0 and 1.83e3 are the integer 1830 here too (the schema decides what is accepted).
    /// </summary>
    private sealed class IntegralConverter<T>(Func<decimal, T> convert) : JsonConverter<T>
        where T : struct, System.Numerics.IBinaryInteger<T>, System.Numerics.IMinMaxValue<T>
    {
        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.Number)
            {
                if (reader.TryGetInt64(out var whole) && whole >= long.CreateChecked(T.MinValue) && whole <= long.CreateChecked(T.MaxValue))
                {
                    return T.CreateChecked(whole);
                }
                // decimal keeps 28 digits and rounds the rest: 0.999…9 (30 nines) would become the integer 1.
                if (!NumberDigits.Of(reader.ValueSpan).IsWhole)
                {
                    throw new JsonException("Expected an integer; the number has a fractional part.");
                }
                if (reader.TryGetDecimal(out var value) && decimal.Truncate(value) == value
                    && value >= decimal.CreateChecked(T.MinValue) && value <= decimal.CreateChecked(T.MaxValue))
                {
                    return convert(value);
                }
            }
            throw new JsonException($"Expected an integer from {T.MinValue} to {T.MaxValue}.");
        }

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
            writer.WriteNumberValue(long.CreateChecked(value));
    }

    /// <summary>0.0120 and 0.012 are the same cost; write them the same way so dedupe sees equal events.</summary>
    private sealed class NormalizedDecimalConverter : JsonConverter<decimal>
    {
        public override decimal Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDecimal(out var value))
            {
                throw new JsonException("Expected a decimal number.");
            }
            // decimal keeps 28-29 digits and rounds the rest, silently: the stored cost must be the one sent.
            // A token of at most 28 characters without an exponent always fits (the common case, checked cheaply).
            var token = reader.ValueSpan;
            var fits = token.Length <= 28 && token.IndexOfAny((byte)'e', (byte)'E') < 0;
            if (!fits && NumberDigits.Of(token) != NumberDigits.Of(value))
            {
                throw new JsonException("The number has more digits than can be kept exactly (at most 28 significant digits).");
            }
            return value;
        }

        public override void Write(Utf8JsonWriter writer, decimal value, JsonSerializerOptions options) =>
            writer.WriteNumberValue(value / 1.000000000000000000000000000000000m);
    }

    /// <summary>
    /// A number's significant digits and where its decimal point falls among them, read from its text
    /// exactly (at any length): 1830, 1830.0 and 1.83e3 are the same; 0.999…9 is not 1.
    /// </summary>
    private readonly record struct NumberDigits(bool Negative, string Digits, long Point)
    {
        /// <summary>No significant digit after the decimal point.</summary>
        public bool IsWhole => Digits.Length <= Point;

        public static NumberDigits Of(decimal value) =>
            Of(System.Text.Encoding.ASCII.GetBytes(value.ToString(CultureInfo.InvariantCulture)));

        /// <summary>A JSON number token; an exponent past 18 digits counts as unreadable (no digits can stand for it exactly).</summary>
        public static NumberDigits Of(ReadOnlySpan<byte> number)
        {
            var negative = number.Length > 0 && number[0] == (byte)'-';
            var e = number.IndexOfAny((byte)'e', (byte)'E');
            var mantissa = (e < 0 ? number : number[..e])[(negative ? 1 : 0)..];
            var dot = mantissa.IndexOf((byte)'.');
            long point = dot < 0 ? mantissa.Length : dot;
            var digits = System.Text.Encoding.ASCII.GetString(mantissa).Replace(".", "", StringComparison.Ordinal);
            if (e >= 0)
            {
                if (!long.TryParse(number[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var exponent)
                    || Math.Abs(exponent) > 999_999_999_999_999_999)
                {
                    return new(negative, "?", long.MinValue);
                }
                point += exponent;
            }
            var leading = digits.Length - digits.TrimStart('0').Length;
            digits = digits.Trim('0');
            // Zero is zero whatever its sign, scale or exponent.
            return digits.Length == 0 ? new(false, "", 0) : new(negative, digits, point - leading);
        }
    }
}
