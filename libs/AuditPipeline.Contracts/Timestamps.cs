namespace AuditPipeline.Contracts;

/// <summary>The store keeps timestamps as UTC microseconds (PostgreSQL's precision).</summary>
public static class Timestamps
{
    /// <summary>What the contract accepts, for messages; the schema's <c>pattern</c> for timestamps says the same.</summary>
    public const string Rfc3339Form = "an RFC 3339 timestamp YYYY-MM-DDTHH:MM:SS[.fraction] with Z or ±HH:MM, e.g. 2026-11-22T10:15:30.123456Z";

    /// <summary>Longest timestamp accepted (the schema's <c>maxLength</c>).</summary>
    public const int MaxLength = 40;

    public static DateTimeOffset ToUtcMicroseconds(DateTimeOffset value)
    {
        var utc = value.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - (utc.Ticks % 10), TimeSpan.Zero);
    }

    public static long ToUnixMicroseconds(DateTimeOffset value) =>
        (value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    /// <summary>
    /// Parses RFC 3339 <c>date-time</c> strictly: <c>YYYY-MM-DDTHH:MM:SS</c>, an optional fraction of
    /// one or more digits, then <c>Z</c> or <c>±HH:MM</c>. <c>t</c> and <c>z</c> may be lower case, as
    /// RFC 3339 (section 5.6) allows. Refused: a space or anything else for <c>T</c>, missing seconds,
    /// one-digit fields, offsets such as <c>+0</c>, <c>+00</c> or <c>+0000</c>, impossible dates, and
    /// the leap second <c>:60</c> (a .NET time cannot hold it). Offsets up to ±23:59 are accepted.
    /// The result is UTC truncated to the microsecond, as stored.
    /// </summary>
    public static bool TryParseRfc3339(ReadOnlySpan<char> text, out DateTimeOffset utc, out string problem)
    {
        utc = default;
        problem = "";
        if (text.Length > MaxLength)
        {
            problem = $"is {text.Length} characters; a timestamp has at most {MaxLength}";
            return false;
        }
        // YYYY-MM-DDTHH:MM:SS is 19 characters, then [.fraction], then Z or ±HH:MM.
        if (text.Length < 20 || !Digits(text, 0, 4, out var year) || text[4] != '-' || !Digits(text, 5, 2, out var month) || text[7] != '-'
            || !Digits(text, 8, 2, out var day) || text[10] is not ('T' or 't') || !Digits(text, 11, 2, out var hour) || text[13] != ':'
            || !Digits(text, 14, 2, out var minute) || text[16] != ':' || !Digits(text, 17, 2, out var second))
        {
            problem = "must be " + Rfc3339Form;
            return false;
        }
        var i = 19;
        long fractionTicks = 0;
        if (text[i] == '.')
        {
            var start = ++i;
            for (; i < text.Length && char.IsAsciiDigit(text[i]); i++)
            {
                // Ticks are 100 ns: seven digits count, the rest are truncated.
                if (i - start < 7)
                {
                    fractionTicks = (fractionTicks * 10) + (text[i] - '0');
                }
            }
            if (i == start)
            {
                problem = "must be " + Rfc3339Form + " (a '.' must be followed by digits)";
                return false;
            }
            for (var scale = i - start; scale < 7; scale++)
            {
                fractionTicks *= 10;
            }
        }
        var offsetMinutes = 0;
        var zone = text[i..];
        if (zone is "Z" or "z")
        {
        }
        else if (zone.Length == 6 && zone[0] is ('+' or '-') && Digits(zone, 1, 2, out var offsetHours) && zone[3] == ':' && Digits(zone, 4, 2, out var offsetMins)
                 && offsetHours <= 23 && offsetMins <= 59)
        {
            offsetMinutes = (zone[0] == '-' ? -1 : 1) * ((offsetHours * 60) + offsetMins);
        }
        else
        {
            problem = "must end in Z or an offset ±HH:MM (" + Rfc3339Form + ")";
            return false;
        }
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            problem = second == 60 ? "must not be a leap second (:60)" : "is not a real date and time";
            return false;
        }
        var local = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified).Ticks + fractionTicks;
        var ticks = local - (offsetMinutes * TimeSpan.TicksPerMinute);
        if (ticks < DateTime.MinValue.Ticks || ticks > DateTime.MaxValue.Ticks)
        {
            problem = "is outside the years 0001 to 9999 in UTC";
            return false;
        }
        utc = new DateTimeOffset(ticks - (ticks % 10), TimeSpan.Zero);
        return true;
    }

    private static bool Digits(ReadOnlySpan<char> text, int start, int count, out int value)
    {
        value = 0;
        for (var i = start; i < start + count; i++)
        {
            if (!char.IsAsciiDigit(text[i]))
            {
                return false;
            }
            value = (value * 10) + (text[i] - '0');
        }
        return true;
    }
}
