using System.Globalization;
using System.Text;

namespace AuditPipeline.ClickHouse;

/// <summary>
/// The one place ClickHouse literals and identifiers are written. ClickHouse 18.16 has no
/// query parameters, so every value in a query goes through <see cref="Literal(string)"/>
/// (tested against injection strings on a real server).
/// </summary>
public static class ClickHouseSql
{
    /// <summary>A string literal: single-quoted, with backslash, quote and control characters escaped.</summary>
    public static string Literal(string value)
    {
        var sb = new StringBuilder(value.Length + 2);
        sb.Append('\'');
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\': sb.Append(@"\\"); break;
                case '\'': sb.Append(@"\'"); break;
                case '\0': sb.Append(@"\0"); break;
                case '\b': sb.Append(@"\b"); break;
                case '\f': sb.Append(@"\f"); break;
                case '\r': sb.Append(@"\r"); break;
                case '\n': sb.Append(@"\n"); break;
                case '\t': sb.Append(@"\t"); break;
                default:
                    if (char.IsControl(c))
                    {
                        sb.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:X2}");
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
        return sb.Append('\'').ToString();
    }

    public static string Literal(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Literal(Guid value) => $"toUUID('{value:D}')";

    /// <summary>DateTime literal from UTC seconds (works on 18.16 and current ClickHouse).</summary>
    public static string Literal(DateTimeOffset value) =>
        $"toDateTime({value.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)})";

    /// <summary>An identifier (table, column): only [A-Za-z_][A-Za-z0-9_]* is accepted, then back-quoted.</summary>
    public static string Identifier(string name)
    {
        if (name.Length is 0 or > 128 || !(char.IsAsciiLetter(name[0]) || name[0] == '_')
            || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            throw new ArgumentException($"'{name}' is not a valid ClickHouse identifier here (letters, digits, underscore).", nameof(name));
        }
        return $"`{name}`";
    }
}
