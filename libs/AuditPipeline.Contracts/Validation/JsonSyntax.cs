using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AuditPipeline.Contracts.Validation;

/// <summary>Where a value stops being well-formed UTF-8 JSON: the member being read (<see cref="Path"/> is a JSON pointer), the byte, and why.</summary>
public sealed record JsonSyntaxError(string Path, long Byte, string Problem)
{
    // A pointer hundreds of levels deep says no more than its first few levels.
    private const int ShownSegments = 8;
    private const int MaxShown = 200;

    public override string ToString()
    {
        var segments = Path.Split('/');
        var shown = segments.Length <= ShownSegments + 1 ? Path : string.Join('/', segments.Take(ShownSegments + 1)) + "/…";
        // Member names come from the message: a 60 KB name is not repeated in full.
        shown = shown.Length <= MaxShown ? shown : shown[..(char.IsHighSurrogate(shown[MaxShown - 1]) ? MaxShown - 1 : MaxShown)] + "…";
        return $"at {(Path.Length == 0 ? "(root)" : shown)} (byte {Byte.ToString(CultureInfo.InvariantCulture)}): {Problem}";
    }
}

/// <summary>
/// Finds the first thing in a message that makes it not well-formed UTF-8 JSON, and names where it
/// is, so that a refusal says which member to fix rather than only what the parser tripped on:
/// syntax errors and truncation, nesting past the limit, invalid UTF-8 and strings that are not
/// Unicode (an escaped lone surrogate such as <c>"\ud800"</c>).
/// </summary>
public static class JsonSyntax
{
    /// <summary>Null when the value is one well-formed JSON value whose strings are all valid Unicode.</summary>
    public static JsonSyntaxError? FindError(ReadOnlySpan<byte> utf8, int maxDepth) => Walk(utf8, maxDepth, numbers: false);

    /// <summary>
    /// The first number too large for a double (<c>1e309</c>, <c>-1e400</c>): well-formed JSON, but
    /// no field takes it and not every evaluator can read it. Null when there is none.
    /// </summary>
    public static JsonSyntaxError? FindHugeNumber(ReadOnlySpan<byte> utf8, int maxDepth) => Walk(utf8, maxDepth, numbers: true);

    private static JsonSyntaxError? Walk(ReadOnlySpan<byte> utf8, int maxDepth, bool numbers)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = maxDepth });
        var path = new List<Level>();
        var invalidAt = FirstInvalidUtf8(utf8);
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        if (Unreadable(ref reader, utf8, invalidAt) is { } nameProblem)
                        {
                            return new(Pointer(path), Math.Max(invalidAt, reader.TokenStartIndex), "member name " + nameProblem);
                        }
                        path[^1] = path[^1] with { Name = reader.GetString(), InValue = true };
                        break;
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        EnterValue(path);
                        path.Add(new Level(reader.TokenType == JsonTokenType.StartArray, -1, null, false));
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        path.RemoveAt(path.Count - 1);
                        LeaveValue(path);
                        break;
                    case JsonTokenType.String:
                        EnterValue(path);
                        if (Unreadable(ref reader, utf8, invalidAt) is { } problem)
                        {
                            return new(Pointer(path), Math.Max(invalidAt, reader.TokenStartIndex), problem);
                        }
                        LeaveValue(path);
                        break;
                    case JsonTokenType.Number when numbers:
                        EnterValue(path);
                        if (!reader.TryGetDouble(out var number) || !double.IsFinite(number))
                        {
                            return new(Pointer(path), reader.TokenStartIndex,
                                $"the number {Encoding.ASCII.GetString(reader.ValueSpan[..Math.Min(reader.ValueSpan.Length, 40)])} is out of range");
                        }
                        LeaveValue(path);
                        break;
                    default:
                        EnterValue(path);
                        LeaveValue(path);
                        break;
                }
            }
        }
        catch (JsonException ex)
        {
            var message = ex.Message;
            var details = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
            var offset = ex.LineNumber is 0 or null ? ex.BytePositionInLine ?? reader.BytesConsumed : reader.BytesConsumed;
            return new(Pointer(path), invalidAt >= 0 && invalidAt <= offset ? invalidAt : offset,
                (details > 0 ? message[..details] : message).TrimEnd());
        }
        return invalidAt >= 0 && !numbers ? new(Pointer(path), invalidAt, InvalidUtf8(utf8, invalidAt)) : null;
    }

    /// <summary>The offset of the first byte that is not part of valid UTF-8, or -1.</summary>
    public static int FirstInvalidUtf8(ReadOnlySpan<byte> utf8)
    {
        var at = 0;
        while (at < utf8.Length)
        {
            if (Rune.DecodeFromUtf8(utf8[at..], out _, out var length) != System.Buffers.OperationStatus.Done)
            {
                return at;
            }
            at += length;
        }
        return -1;
    }

    private static string InvalidUtf8(ReadOnlySpan<byte> utf8, int at)
    {
        Rune.DecodeFromUtf8(utf8[at..], out _, out var length);
        var bytes = utf8.Slice(at, Math.Max(1, Math.Min(length, 4)));
        return $"invalid UTF-8 (0x{Convert.ToHexString(bytes)})";
    }

    /// <summary>Why the current string or name cannot be read as Unicode text, or null when it can.</summary>
    private static string? Unreadable(ref Utf8JsonReader reader, ReadOnlySpan<byte> utf8, int invalidAt)
    {
        // Invalid UTF-8 inside this token: say which bytes, not only that transcoding failed.
        var end = reader.BytesConsumed;
        if (invalidAt >= reader.TokenStartIndex && invalidAt < end)
        {
            return InvalidUtf8(utf8, invalidAt);
        }
        try
        {
            reader.GetString();
            return null;
        }
        catch (InvalidOperationException ex)
        {
            return ex.Message.Contains("surrogate", StringComparison.OrdinalIgnoreCase)
                ? "is not valid Unicode (an unpaired surrogate escape such as \\ud800): " + ex.Message
                : ex.Message;
        }
    }

    private static void EnterValue(List<Level> path)
    {
        if (path.Count > 0 && path[^1].IsArray)
        {
            path[^1] = path[^1] with { Index = path[^1].Index + 1, InValue = true };
        }
    }

    private static void LeaveValue(List<Level> path)
    {
        if (path.Count > 0)
        {
            path[^1] = path[^1] with { InValue = false };
        }
    }

    private static string Pointer(List<Level> path)
    {
        var pointer = new StringBuilder();
        foreach (var level in path)
        {
            if (!level.InValue)
            {
                break;
            }
            pointer.Append('/').Append(level.IsArray
                ? level.Index.ToString(CultureInfo.InvariantCulture)
                : level.Name!.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal));
        }
        return pointer.ToString();
    }

    private readonly record struct Level(bool IsArray, int Index, string? Name, bool InValue);
}
