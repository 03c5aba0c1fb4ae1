using System.Globalization;
using System.Text.RegularExpressions;

namespace AuditPipeline.Testing;

/// <summary>What part of a reason must say where a hostile message went wrong.</summary>
public enum ReasonNames
{
    /// <summary>The member's JSON pointer (<c>/agent/id</c>) or path (<c>$.agent.id</c>).</summary>
    Field,
    /// <summary>The member or a place inside it (nesting too deep to name every level).</summary>
    FieldOrBelow,
    /// <summary>A missing member: its name and its parent's pointer (or the root).</summary>
    MissingMember,
    /// <summary>No member to name (the JSON never parsed that far): a byte position.</summary>
    Position,
    /// <summary>Not parsed at all: the value's size in bytes.</summary>
    Size,
    /// <summary>The message key against <c>agent.id</c>.</summary>
    Key,
    /// <summary>The top-level value.</summary>
    Root,
    /// <summary>Nothing to name (an empty value): any reason.</summary>
    Nothing,
}

/// <summary>One message of a fuzz run: a valid event (<see cref="ValidId"/> set) or a mutation of one.</summary>
public sealed record FuzzMessage(int Index, string Kind, byte[]? Key, byte[] Value, Guid? ValidId, IReadOnlyList<string> Codes, ReasonNames Names, string? Field)
{
    public bool IsHostile => ValidId is null;

    /// <summary>Null when the rejection is what this message should get, else what is wrong with it.</summary>
    public string? Judge(string code, string reason)
    {
        if (!Codes.Contains(code))
        {
            return $"code {code}, expected {string.Join(" or ", Codes)}";
        }
        if (string.IsNullOrWhiteSpace(reason))
        {
            return "empty reason";
        }
        var named = Names switch
        {
            ReasonNames.Field => ReasonCheck.NamesPointer(reason, Field!),
            ReasonNames.FieldOrBelow => ReasonCheck.NamesPointer(reason, Field!, orBelow: true),
            ReasonNames.MissingMember => ReasonCheck.NamesMissing(reason, Field!),
            ReasonNames.Position => Regex.IsMatch(reason, @"\bbyte (offset )?\d+"),
            ReasonNames.Size => reason.Contains(Value.Length.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal),
            ReasonNames.Key => reason.Contains("agent.id", StringComparison.Ordinal),
            ReasonNames.Root => reason.Contains("(root)", StringComparison.Ordinal),
            _ => true,
        };
        return named ? null : $"reason does not name {Names}{(Field is null ? "" : " " + Field)}";
    }
}

/// <summary>Whether a refusal's reason says where the problem is, as a JSON pointer (<c>/agent/id</c>) or path (<c>$.agent.id</c>).</summary>
public static class ReasonCheck
{
    /// <summary>The reason names the member, as a JSON pointer or a <c>$.</c> path, and not only a longer one.</summary>
    public static bool NamesPointer(string reason, string location, bool orBelow = false) =>
        Mentions(reason, location, orBelow) || Mentions(reason, JsonPointers.ToPath(location), orBelow)
        // A top-level member is unambiguous by its name alone ("occurred_at 2019-07-03T13:09:55Z is older than ...").
        || (location.LastIndexOf('/') == 0 && Regex.IsMatch(reason, $@"(?<![\w/.]){Regex.Escape(location[1..])}(?![\w])"));

    /// <summary>A missing member: its name, and where it is missing (its parent's pointer, or the root).</summary>
    public static bool NamesMissing(string reason, string location)
    {
        var (parent, name) = JsonPointers.Split(location);
        var where = parent.Length == 0 ? reason.Contains("(root)", StringComparison.Ordinal) || reason.Contains("$:", StringComparison.Ordinal)
            : Mentions(reason, parent) || Mentions(reason, JsonPointers.ToPath(parent));
        return (where && Regex.IsMatch(reason, $@"(?<![\w]){Regex.Escape(name)}(?![\w])")) || NamesPointer(reason, location);
    }

    private static bool Mentions(string reason, string where, bool orBelow = false)
    {
        for (var i = reason.IndexOf(where, StringComparison.Ordinal); i >= 0; i = reason.IndexOf(where, i + 1, StringComparison.Ordinal))
        {
            var end = i + where.Length;
            // "/agent" must not count as naming "/agent/id", nor "/usage/input" as "/usage/input_tokens".
            if (end == reason.Length || reason[end] is ' ' or ')' or ':' or ',' or ';' or '(' or '\'' or '"' || (orBelow && reason[end] == '/'))
            {
                return true;
            }
        }
        return false;
    }
}
