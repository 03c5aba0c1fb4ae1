using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AuditPipeline.Contracts;
using Json.Schema;

namespace AuditPipeline.Contracts.Validation;

/// <summary>One way an event does not match the schema: where (<see cref="Path"/> is a JSON pointer), which keyword, and why.</summary>
public sealed record SchemaError(string Path, string Keyword, string Message)
{
    public override string ToString() => $"{(Path.Length == 0 ? "(root)" : Path)} ({Keyword}): {Message}";
}

/// <summary>
/// The agent-action v1 JSON Schema (<c>agent-action.v1.schema.json</c>, embedded), evaluated
/// with JsonSchema.Net as the decoder's first stage so that the published schema and the ingest
/// cannot disagree. The file is written with the default <see cref="ValidationLimits"/>; a
/// deployment with other limits gets the schema with its own lengths. Built once per set of limits.
/// </summary>
public sealed class ContractSchema
{
    public const string ResourceName = "agent-action.v1.schema.json";
    public const int MaxErrors = 10;

    // Messages in the contract's words for the schema's patterns (ContractTests checks every pattern has one).
    public static IReadOnlyDictionary<string, string> PatternMessages { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["^[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"] = "must not contain whitespace or control characters",
        ["^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000]*$"] =
            "must not be blank or contain NUL characters",
        ["^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"] = "must be a UUID, 8-4-4-4-12 hex digits",
        ["^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"] =
            "must be " + Timestamps.Rfc3339Form,
        ["^(enc|hmac):v1:"] = "must not start with 'enc:v1:' or 'hmac:v1:' (reserved for values redacted at ingest)",
    };

    private static readonly ConcurrentDictionary<ValidationLimits, ContractSchema> Built = new();

    private readonly JsonSchema _schema;
    private readonly JsonNode _document;
    private readonly EvaluationOptions _check;
    private readonly EvaluationOptions _explain;

    private ContractSchema(ValidationLimits limits)
    {
        _document = WithLimits(JsonNode.Parse(Text)!, limits);
        using var json = JsonDocument.Parse(_document.ToJsonString());
        // A registry of its own: schemas built for other limits share the $id.
        _schema = JsonSchema.Build(json.RootElement.Clone(), new BuildOptions { SchemaRegistry = new SchemaRegistry() });
        // "format" is checked, with the contract's own date-time parser rather than the library's
        // (which lets '_' or a space stand for 'T'): the schema's pattern says the same for other validators.
        var formats = new FormatRegistry();
        formats.Register(new PredicateFormat("date-time", IsTimestamp));
        _check = new EvaluationOptions { OutputFormat = OutputFormat.Flag, RequireFormatValidation = true, FormatRegistry = formats };
        _check.IgnoreAllAnnotations();
        _explain = new EvaluationOptions { OutputFormat = OutputFormat.Hierarchical, RequireFormatValidation = true, FormatRegistry = formats };
        _explain.IgnoreAllAnnotations();
    }

    /// <summary>The schema file as shipped.</summary>
    public static string Text { get; } = ReadText();

    public static ContractSchema For(ValidationLimits limits) => Built.GetOrAdd(limits, l => new ContractSchema(l));

    /// <summary>The schema as this instance evaluates it (with its limits), e.g. to publish.</summary>
    public string Json => _document.ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    /// <summary>Nothing when the instance matches; else up to <see cref="MaxErrors"/> errors, in document order.</summary>
    public IReadOnlyList<SchemaError> Evaluate(JsonElement instance)
    {
        // The common case is a valid event: the flag output stops early and builds no tree.
        if (_schema.Evaluate(instance, _check).IsValid)
        {
            return [];
        }
        var errors = new List<SchemaError>();
        Collect(_schema.Evaluate(instance, _explain), instance, errors);
        if (errors.Count == 0)
        {
            return [new SchemaError("", "schema", "does not match")];
        }
        // A timestamp's pattern and format say the same thing: say it once, naming both keywords.
        return [.. errors.GroupBy(e => (e.Path, e.Message)).Select(g => g.First() with { Keyword = string.Join(", ", g.Select(e => e.Keyword).Distinct()) })];
    }

    private void Collect(EvaluationResults node, JsonElement instance, List<SchemaError> errors)
    {
        if (node.IsValid || errors.Count >= MaxErrors)
        {
            return;
        }
        var before = errors.Count;
        if (node.Errors is { Count: > 0 })
        {
            foreach (var (keyword, message) in node.Errors)
            {
                // A false schema (additionalProperties) reports no keyword: its path ends in it.
                errors.Add(keyword.Length > 0
                    ? Describe(node, keyword, keywordInPath: false, message, instance)
                    : Describe(node, LastSegment(node.EvaluationPath.ToString()), keywordInPath: true, message, instance));
            }
        }
        var invalidChild = false;
        foreach (var child in node.Details ?? [])
        {
            if (!child.IsValid)
            {
                invalidChild = true;
                Collect(child, instance, errors);
            }
        }
        if (errors.Count == before && !invalidChild)
        {
            // A failed "not" is reported at its parent without a message; its subschema passed.
            var not = node.Details?.FirstOrDefault(d => d.EvaluationPath.ToString().EndsWith("/not", StringComparison.Ordinal));
            errors.Add(not is not null
                ? Describe(not, "not", keywordInPath: true, null, instance)
                : Describe(node, LastSegment(node.EvaluationPath.ToString()), keywordInPath: true, null, instance));
        }
    }

    private SchemaError Describe(EvaluationResults node, string keyword, bool keywordInPath, string? message, JsonElement instance)
    {
        var pointer = node.InstanceLocation.ToString();
        var schema = SchemaAt(node.EvaluationPath.ToString(), keywordInPath);
        var value = InstanceAt(instance, pointer);
        var text = keyword switch
        {
            "required" when schema?["required"] is JsonArray required && value is { ValueKind: JsonValueKind.Object } obj =>
                "missing required properties: " + string.Join(", ", required.Select(r => r!.GetValue<string>()).Where(r => !obj.TryGetProperty(r, out _))),
            "additionalProperties" => $"unknown property '{Unescape(LastSegment(pointer))}' (not in the v1 schema)",
            "type" when schema?["type"] is JsonValue type => $"must be {Article(type.GetValue<string>())}, not {Kind(value)}",
            "enum" when schema?["enum"] is JsonArray values => "must be one of: " + string.Join(", ", values.Select(v => v!.ToJsonString())),
            "const" when schema?["const"] is { } constant => $"must be {constant.ToJsonString()}",
            "minLength" when schema?["minLength"]?.GetValue<int>() == 1 => "must not be empty",
            "minLength" => $"must be at least {schema?["minLength"]} characters",
            "maxLength" when value is { ValueKind: JsonValueKind.String } s =>
                $"is {CodePoints(s.GetString()!)} characters; at most {schema?["maxLength"]} allowed",
            "maxItems" when value is { ValueKind: JsonValueKind.Array } a => $"has {a.GetArrayLength()} entries; at most {schema?["maxItems"]} allowed",
            "minimum" => $"must be at least {schema?["minimum"]}",
            "maximum" => $"must be at most {schema?["maximum"]}",
            "pattern" when schema?["pattern"]?.GetValue<string>() is { } pattern && PatternMessages.TryGetValue(pattern, out var known) => known,
            "not" when schema?["not"]?["pattern"]?.GetValue<string>() is { } pattern && PatternMessages.TryGetValue(pattern, out var known) => known,
            "not" when schema?["not"]?["const"] is { } constant => $"must not be {constant.ToJsonString()}",
            "format" => message ?? $"is not a valid {schema?["format"]}",
            _ => message ?? "does not match",
        };
        return new SchemaError(pointer, keyword, text);
    }

    /// <summary>The schema object a result came from, following $ref (without the keyword that ends the path, if it does).</summary>
    private JsonNode? SchemaAt(string evaluationPath, bool keywordInPath)
    {
        var node = _document;
        var segments = evaluationPath.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Unescape).ToList();
        if (keywordInPath && segments.Count > 0)
        {
            segments.RemoveAt(segments.Count - 1);
        }
        foreach (var segment in segments)
        {
            if (segment == "$ref" && node?["$ref"]?.GetValue<string>() is { } reference && reference.StartsWith("#/", StringComparison.Ordinal))
            {
                node = reference[2..].Split('/').Select(Unescape).Aggregate((JsonNode?)_document, (n, s) => n?[s]);
            }
            else if (node is JsonObject obj && obj.TryGetPropertyValue(segment, out var next))
            {
                node = next;
            }
            // Anything else (an array index under "items") names no schema of its own: stay.
        }
        return node;
    }

    private static JsonElement? InstanceAt(JsonElement root, string pointer)
    {
        var current = root;
        foreach (var segment in pointer.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Unescape))
        {
            if (current.ValueKind == JsonValueKind.Object && current.TryGetProperty(segment, out var next))
            {
                current = next;
            }
            else if (current.ValueKind == JsonValueKind.Array && int.TryParse(segment, CultureInfo.InvariantCulture, out var i) && i < current.GetArrayLength())
            {
                current = current[i];
            }
            else
            {
                return null;
            }
        }
        return current;
    }

    private static bool IsTimestamp(JsonElement value, out string? problem)
    {
        problem = null;
        if (value.ValueKind != JsonValueKind.String)
        {
            return true; // "format" applies to strings only; "type" reports the rest
        }
        if (Timestamps.TryParseRfc3339(value.GetString(), out _, out var why))
        {
            return true;
        }
        problem = why;
        return false;
    }

    /// <summary>The file's lengths are the default limits; each stands for its setting.</summary>
    private static JsonNode WithLimits(JsonNode schema, ValidationLimits limits)
    {
        var defaults = new ValidationLimits();
        var maxLength = new Dictionary<int, int>
        {
            [defaults.MaxIdLength] = limits.MaxIdLength,
            [defaults.MaxTextLength] = limits.MaxTextLength,
            [defaults.MaxInputLength] = limits.MaxInputLength,
            [defaults.MaxIdLength * 4] = limits.MaxIdLength * 4, // action.resource.id
            [Timestamps.MaxLength] = Timestamps.MaxLength,
        };
        Visit(schema);
        return schema;

        void Visit(JsonNode? node)
        {
            if (node is JsonArray array)
            {
                foreach (var item in array)
                {
                    Visit(item);
                }
            }
            if (node is not JsonObject obj)
            {
                return;
            }
            if (obj["maxLength"] is JsonValue length)
            {
                obj["maxLength"] = maxLength.TryGetValue(length.GetValue<int>(), out var value) ? value
                    : throw new InvalidOperationException($"The schema's maxLength {length} is none of the ValidationLimits defaults.");
            }
            if (obj["maxItems"] is JsonValue items)
            {
                obj["maxItems"] = items.GetValue<int>() == defaults.MaxListLength ? limits.MaxListLength
                    : throw new InvalidOperationException($"The schema's maxItems {items} is not ValidationLimits.MaxListLength.");
            }
            foreach (var (_, child) in obj.ToList())
            {
                Visit(child);
            }
        }
    }

    private static string ReadText()
    {
        using var stream = typeof(ContractSchema).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static string LastSegment(string pointer) => pointer[(pointer.LastIndexOf('/') + 1)..];

    private static string Unescape(string segment) => segment.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);

    private static string Article(string type) => type is "array" or "integer" or "object" ? "an " + type : "a " + type;

    private static string Kind(JsonElement? value) => value?.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "missing",
    };

    internal static int CodePoints(string value)
    {
        var count = 0;
        foreach (var _ in value.EnumerateRunes())
        {
            count++;
        }
        return count;
    }
}
