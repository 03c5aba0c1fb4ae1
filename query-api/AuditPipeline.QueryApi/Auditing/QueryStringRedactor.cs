using System.Collections.Frozen;
using System.Text;
using System.Text.RegularExpressions;
using AuditPipeline.Redaction;

namespace AuditPipeline.QueryApi;

/// <summary>
/// What of a query string a call record may keep. Parameters whose values are ids of agents,
/// teams, resources and policies, times, enumerations and paging are kept as sent. Every other
/// value — <c>owner</c>, <c>on_behalf_of</c> (people), and any parameter this API does not define,
/// which may be free text (<c>q</c>, <c>subject</c>, …) — is replaced by a keyed hash
/// (<c>hmac:v1:…</c>, the keyed hash of <c>Redaction:Hash</c> fields, under the name
/// <c>api-call.query.&lt;parameter&gt;</c>) when a redaction master key is configured, else by
/// <c>[redacted]</c>. A hash still lets an auditor with the key ask "who searched for this
/// person", without the store holding the name.
/// </summary>
public sealed partial class QueryStringRedactor(RedactionKeys? keys)
{
    public const string Redacted = "[redacted]";
    private const int MaxLength = 1000;

    /// <summary>Parameters stored in clear; compared without case, as the endpoints read them.</summary>
    public static FrozenSet<string> KeptParameters { get; } = new[]
    {
        "agent", "team", "resource", "policy", "decision", "bucket", "status", "severity", "unowned", "limit", "cursor", "from", "to", "checkpoint",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>The query string ("?a=b&amp;…") with personal values replaced, at most 1,000 characters; null when empty.</summary>
    public string? Redact(string? queryString)
    {
        if (string.IsNullOrEmpty(queryString) || queryString == "?")
        {
            return null;
        }
        var result = new StringBuilder("?");
        foreach (var pair in queryString.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            if (result.Length > MaxLength)
            {
                break;
            }
            if (result.Length > 1)
            {
                result.Append('&');
            }
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var rawName = equals < 0 ? pair : pair[..equals];
            var name = Decode(rawName);
            if (KeptParameters.Contains(name))
            {
                result.Append(pair);
            }
            else if (PlainName().IsMatch(name))
            {
                result.Append(rawName).Append('=').Append(Conceal(name, equals < 0 ? "" : Decode(pair[(equals + 1)..])));
            }
            else
            {
                // A "name" that is not a parameter name may itself be the personal text (?alice@example.com).
                result.Append(Redacted);
            }
        }
        var text = result.ToString();
        return text.Length <= MaxLength ? text : text[..MaxLength];
    }

    private string Conceal(string name, string value) =>
        keys is null ? Redacted : keys.HashValue("api-call.query." + name.ToLowerInvariant(), value);

    private static string Decode(string text) => Uri.UnescapeDataString(text.Replace('+', ' '));

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_.-]{0,63}$")]
    private static partial Regex PlainName();
}
