using System.Globalization;
using System.Text;

namespace AuditPipeline.QueryApi;

/// <summary>A query value that cannot be used; becomes a 400 problem naming the parameter.</summary>
public sealed class InvalidInputException(string parameter, string message) : Exception(message)
{
    public string Parameter { get; } = parameter;
}

/// <summary>
/// Every query-string value is checked here before it reaches a database: lengths, characters,
/// ranges and formats, with messages that say what is accepted. (Values are then passed as
/// PostgreSQL parameters or through ClickHouseSql.Literal, never concatenated raw.)
/// </summary>
public static class QueryInput
{
    private static readonly DateTimeOffset Earliest = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>An identifier (agent, owner, team, policy, person): 1–200 characters, no whitespace or control characters.</summary>
    public static string? Id(string? value, string name, int max = 200)
    {
        if (value is null)
        {
            return null;
        }
        if (value.Length == 0 || value.Length > max)
        {
            throw new InvalidInputException(name, $"'{name}' must be 1–{max} characters (got {value.Length}).");
        }
        if (value.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            throw new InvalidInputException(name, $"'{name}' must not contain whitespace or control characters.");
        }
        return value;
    }

    public static int Limit(string? value, QueryApiOptions options)
    {
        if (value is null)
        {
            return options.DefaultPageSize;
        }
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) || limit < 1 || limit > options.MaxPageSize)
        {
            throw new InvalidInputException("limit", $"'limit' must be a whole number from 1 to {options.MaxPageSize}.");
        }
        return limit;
    }

    public static DateTimeOffset? Time(string? value, string name, TimeProvider clock)
    {
        if (value is null)
        {
            return null;
        }
        var timePart = value.IndexOf('T', StringComparison.OrdinalIgnoreCase);
        if (value.Length > 40 || timePart < 0
            || !(value.EndsWith('Z') || value.EndsWith('z') || value.AsSpan(timePart).ContainsAny('+', '-'))
            || !DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.None, out var at))
        {
            throw new InvalidInputException(name, $"'{name}' must be an RFC 3339 time with an offset, e.g. 2026-11-22T10:00:00Z.");
        }
        if (at < Earliest || at > clock.GetUtcNow().AddDays(1))
        {
            throw new InvalidInputException(name, $"'{name}' must be between 2000-01-01 and tomorrow.");
        }
        return at.ToUniversalTime();
    }

    public static (DateTimeOffset From, DateTimeOffset To) Range(string? from, string? to, TimeProvider clock, TimeSpan defaultSpan, TimeSpan maxSpan)
    {
        var end = Time(to, "to", clock) ?? clock.GetUtcNow();
        var start = Time(from, "from", clock) ?? end - defaultSpan;
        if (start >= end)
        {
            throw new InvalidInputException("from", "'from' must be before 'to'.");
        }
        if (end - start > maxSpan)
        {
            throw new InvalidInputException("from", $"'from' to 'to' may span at most {maxSpan.TotalDays:0} days here.");
        }
        return (start, end);
    }

    public static string? OneOf(string? value, string name, params string[] allowed)
    {
        if (value is null || allowed.Contains(value, StringComparer.Ordinal))
        {
            return value;
        }
        throw new InvalidInputException(name, $"'{name}' must be one of: {string.Join(", ", allowed)}.");
    }

    public static bool? Bool(string? value, string name) => value switch
    {
        null => null,
        "true" => true,
        "false" => false,
        _ => throw new InvalidInputException(name, $"'{name}' must be true or false."),
    };

    /// <summary>Opaque page cursors: base64url of the last row's sort key, given back by the previous page.</summary>
    public static string Cursor(params string[] parts) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Join('\n', parts))).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string[]? ReadCursor(string? cursor, int parts)
    {
        if (cursor is null)
        {
            return null;
        }
        try
        {
            if (cursor.Length > 2000)
            {
                throw new FormatException();
            }
            var padded = cursor.Replace('-', '+').Replace('_', '/');
            padded += new string('=', (4 - (padded.Length % 4)) % 4);
            var values = Encoding.UTF8.GetString(Convert.FromBase64String(padded)).Split('\n');
            return values.Length == parts ? values : throw new FormatException();
        }
        catch (FormatException)
        {
            throw new InvalidInputException("cursor", "'cursor' is not a cursor this API returned; start again without it.");
        }
    }
}
