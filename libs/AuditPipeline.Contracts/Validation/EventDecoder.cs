using System.Text;
using System.Text.Json;
using AuditPipeline.Contracts;

namespace AuditPipeline.Contracts.Validation;

/// <summary>Why a message was refused; stable codes for dashboards, alongside a readable reason.</summary>
public static class RejectCodes
{
    public const string Empty = "empty";
    public const string Oversized = "oversized";
    public const string MalformedJson = "malformed_json";
    public const string SchemaViolation = "schema_violation";
    public const string InvalidField = "invalid_field";
    public const string KeyMismatch = "key_mismatch";
    public const string ConflictingDuplicate = "conflicting_duplicate";
    /// <summary>Valid but older than Ingest:Validation:MaxAge: replayable once the limit is raised.</summary>
    public const string TooOld = "too_old";
    /// <summary>The id is stored in a month dropped before digests were kept: not comparable, never stored twice.</summary>
    public const string ArchivedDuplicate = "archived_duplicate";
    /// <summary>A Kafka error that will not go away on retry (for example a message the broker refuses).</summary>
    public const string BrokerRefused = "broker_refused";
    /// <summary>The event store refused this one event's data (the rest of its batch was stored).</summary>
    public const string StoreRefused = "store_refused";
}

public sealed record Rejection(string Code, string Reason, Guid? EventId = null)
{
    /// <summary>
    /// One printable line: a reason quotes what arrived (member names, keys), and it goes to logs,
    /// Kafka headers and the console, so control and bidirectional-override characters are escaped
    /// (<c>\u000A</c>) rather than allowed to forge a log line or reorder what an operator reads.
    /// </summary>
    public string Reason { get; init; } = Printable(Reason);

    private static string Printable(string text)
    {
        if (!text.Any(NeedsEscape))
        {
            return text;
        }
        var builder = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            _ = NeedsEscape(c) ? builder.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\u{(int)c:X4}") : builder.Append(c);
        }
        return builder.ToString();
    }

    private static bool NeedsEscape(char c) =>
        char.IsControl(c) || c is '\u2028' or '\u2029' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069');
}

/// <summary>A decoded, validated event and its canonical bytes (what is stored and hashed).</summary>
public sealed record DecodedEvent(AgentActionOccurred Event, byte[] Canonical);

/// <summary>
/// Turns raw Kafka message bytes into a valid event or a rejection with a reason. The stages, in
/// order: size, well-formed UTF-8 JSON, the JSON Schema (<see cref="ContractSchema"/>, the contract's
/// one truth), deserialization, the clock-dependent checks of <see cref="EventValidator"/>, the key.
/// </summary>
public sealed class EventDecoder(ValidationLimits limits)
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };
    private readonly ContractSchema _schema = ContractSchema.For(limits);
    private readonly EventValidator _validator = new(limits);

    public ValidationLimits Limits => limits;

    public (DecodedEvent? Event, Rejection? Rejection) Decode(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, DateTimeOffset now)
    {
        if (value.IsEmpty)
        {
            return (null, new(RejectCodes.Empty, "The message has no value."));
        }
        if (value.Length > limits.MaxEventBytes)
        {
            return (null, new(RejectCodes.Oversized, $"The event is {value.Length} bytes; at most {limits.MaxEventBytes} are accepted."));
        }
        if (!System.Text.Unicode.Utf8.IsValid(value))
        {
            return (null, Malformed(JsonSyntax.FindError(value, DocumentOptions.MaxDepth), value));
        }

        IReadOnlyList<SchemaError> schemaErrors;
        try
        {
            var reader = new Utf8JsonReader(value, new JsonReaderOptions { MaxDepth = DocumentOptions.MaxDepth });
            using var document = JsonDocument.ParseValue(ref reader);
            if (reader.Read())
            {
                throw new JsonException("There is more after the JSON value.");
            }
            schemaErrors = _schema.Evaluate(document.RootElement);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or ArgumentException or ArithmeticException)
        {
            // Not JSON at all, or strings the schema could not read (an escaped lone surrogate): say where.
            var syntax = JsonSyntax.FindError(value, DocumentOptions.MaxDepth);
            if (syntax is not null)
            {
                return (null, Malformed(syntax, value));
            }
            // Well-formed, but a number the schema library cannot read (1e309); its own message names no field.
            var huge = JsonSyntax.FindHugeNumber(value, DocumentOptions.MaxDepth);
            var why = huge is not null ? $" {huge}" : $": {Explain(ex.Message)}";
            return (null, new(RejectCodes.SchemaViolation, Describe(RejectCodes.SchemaViolation) + why));
        }
        if (schemaErrors.Count > 0)
        {
            return (null, new(RejectCodes.SchemaViolation, $"{Describe(RejectCodes.SchemaViolation)}: {string.Join("; ", schemaErrors)}"));
        }

        AgentActionOccurred e;
        try
        {
            e = ContractJson.Deserialize(value);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or ArgumentException or ArithmeticException)
        {
            // What the schema cannot say: duplicate member names.
            var code = ContractJson.IsWellFormedJson(value) ? RejectCodes.SchemaViolation : RejectCodes.MalformedJson;
            var where = ex is JsonException { Path: { } path } ? $" at {path}" : "";
            return (null, new(code, $"{Describe(code)}{where}: {Explain(ex.Message)}"));
        }

        IReadOnlyList<FieldError> errors;
        try
        {
            errors = _validator.Validate(e, now);
        }
        catch (Exception ex) when (ex is NullReferenceException or ArgumentException or InvalidOperationException)
        {
            // Defence in depth: an input shape the deserializer let through must not stop the pipeline.
            return (null, new(RejectCodes.InvalidField, $"The event could not be validated: {Trim(ex.Message)}", e.EventId));
        }
        if (errors.Count > 0)
        {
            return (null, new(RejectCodes.InvalidField, string.Join("; ", errors.Take(10)), e.EventId));
        }

        // The key decides the partition, and so which ingest instance owns the agent's chain.
        if (!key.IsEmpty && !Encoding.UTF8.GetString(key).Equals(e.Agent.Id, StringComparison.Ordinal))
        {
            return (null, new(RejectCodes.KeyMismatch,
                $"The message key {Quote(Encoding.UTF8.GetString(key))} must equal agent.id {Quote(e.Agent.Id)} (events of one agent must share a partition).", e.EventId));
        }
        if (key.IsEmpty)
        {
            return (null, new(RejectCodes.KeyMismatch, "The message has no key; it must be agent.id.", e.EventId));
        }

        if (e.OccurredAt < now - limits.MaxAge)
        {
            return (null, new(RejectCodes.TooOld,
                $"occurred_at {e.OccurredAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture)} is older than the accepted {FormatAge(limits.MaxAge)} (Ingest:Validation:MaxAge). "
                + "To let it in, raise the limit (e.g. Ingest__Validation__MaxAge=90.00:00:00), restart ingest, then replay: "
                + "auditctl store quarantine replay --reason too_old", e.EventId));
        }

        return (new DecodedEvent(e, ContractJson.SerializeCanonical(e)), null);
    }

    /// <summary>Not well-formed: the reason names the member being read and the byte, since a parser's own message names neither.</summary>
    private static Rejection Malformed(JsonSyntaxError? error, ReadOnlySpan<byte> value)
    {
        var where = error?.ToString()
            ?? $"at byte {Math.Max(0, JsonSyntax.FirstInvalidUtf8(value))}: not well-formed";
        return new(RejectCodes.MalformedJson, $"{Describe(RejectCodes.MalformedJson)} {where}");
    }

    private static string FormatAge(TimeSpan age) =>
        age.TotalDays >= 1
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{age.TotalDays:0.#} days")
            : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{age.TotalHours:0.#} hours");

    private static string Describe(string code) =>
        code == RejectCodes.MalformedJson ? "Not well-formed UTF-8 JSON" : "Does not match the agent-action v1 schema";

    /// <summary>The serializer's message in the contract's terms, without .NET type names.</summary>
    private static string Explain(string message)
    {
        const string Unmapped = "The JSON property '";
        const string Missing = "missing required properties including: ";
        if (message.StartsWith(Unmapped, StringComparison.Ordinal) && message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            var name = message[Unmapped.Length..message.IndexOf('\'', Unmapped.Length)];
            return $"unknown property '{name}' (not in the v1 schema)";
        }
        var missing = message.IndexOf(Missing, StringComparison.Ordinal);
        if (missing >= 0)
        {
            return "missing required properties: " + message[(missing + Missing.Length)..].TrimEnd('.').Replace("'", "", StringComparison.Ordinal);
        }
        if (message.Contains("could not be converted to", StringComparison.Ordinal))
        {
            return "wrong type or value for this property";
        }
        if (message.Contains("Duplicate", StringComparison.OrdinalIgnoreCase))
        {
            return "duplicate property";
        }
        if (message.Contains("null", StringComparison.OrdinalIgnoreCase) && message.Contains("non-nullable", StringComparison.OrdinalIgnoreCase))
        {
            return "must not be null";
        }
        var details = message.IndexOf(" Path:", StringComparison.Ordinal);
        return Trim(details > 0 ? message[..details] : message);
    }

    /// <summary>A key or id as JSON would write it (control characters and invalid bytes visible), bounded.</summary>
    private static string Quote(string value)
    {
        const int Shown = 100;
        // Never cut a surrogate pair in two: the encoder refuses half a character.
        var cut = value.Length <= Shown ? value : value[..(char.IsHighSurrogate(value[Shown - 1]) ? Shown - 1 : Shown)] + "…";
        return $"\"{JsonEncodedText.Encode(cut, System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping)}\"";
    }

    private static string Trim(string message) =>
        message.Length <= 500 ? message : message[..500] + "…";
}
