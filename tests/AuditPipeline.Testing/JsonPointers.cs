using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace AuditPipeline.Testing;

/// <summary>JSON pointers (RFC 6901) over <see cref="JsonNode"/> trees, for building mutations and reading reasons.</summary>
internal static partial class JsonPointers
{
    /// <summary>Every member and array entry below the root, with its pointer, in document order.</summary>
    public static List<(string Pointer, JsonNode? Node)> Members(JsonNode root)
    {
        var found = new List<(string, JsonNode?)>();
        Walk(root, "");
        return found;

        void Walk(JsonNode? node, string pointer)
        {
            if (node is JsonObject obj)
            {
                foreach (var (name, child) in obj)
                {
                    var p = pointer + "/" + Escape(name);
                    found.Add((p, child));
                    Walk(child, p);
                }
            }
            else if (node is JsonArray array)
            {
                for (var i = 0; i < array.Count; i++)
                {
                    var p = pointer + "/" + i.ToString(CultureInfo.InvariantCulture);
                    found.Add((p, array[i]));
                    Walk(array[i], p);
                }
            }
        }
    }

    public static List<string> Strings(JsonNode root) =>
        [.. Members(root).Where(m => m.Node?.GetValueKind() == JsonValueKind.String).Select(m => m.Pointer)];

    /// <summary>The pointers in the event that match the patterns (<c>*</c> standing for any array index).</summary>
    public static List<string> Present(JsonNode root, string[] patterns) =>
        [.. Members(root).Select(m => m.Pointer).Where(p => patterns.Contains(Normalize(p)))];

    public static string Normalize(string pointer) => ArrayIndex().Replace(pointer, "/*");

    public static bool IsIndex(string pointer) => char.IsAsciiDigit(pointer[^1]);

    [GeneratedRegex("/[0-9]+(?=/|$)")]
    private static partial Regex ArrayIndex();

    public static int Depth(string pointer) => pointer.Count(c => c == '/');

    public static (string Parent, string Name) Split(string pointer)
    {
        var slash = pointer.LastIndexOf('/');
        return (pointer[..slash], pointer[(slash + 1)..].Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal));
    }

    public static string Escape(string name) => name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    public static JsonNode? Get(JsonNode root, string pointer)
    {
        var node = root;
        foreach (var segment in pointer.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            node = node is JsonArray array ? array[int.Parse(segment, CultureInfo.InvariantCulture)] : node![segment];
        }
        return node;
    }

    public static void Set(JsonNode root, string pointer, JsonNode? value)
    {
        var (parent, name) = Split(pointer);
        var container = Get(root, parent);
        if (container is JsonArray array)
        {
            array[int.Parse(name, CultureInfo.InvariantCulture)] = value;
        }
        else
        {
            container![name] = value;
        }
    }

    public static string ToPath(string pointer)
    {
        var path = new StringBuilder("$");
        foreach (var segment in pointer.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = segment.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            path.Append(int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out _) ? $"[{name}]" : "." + name);
        }
        return path.ToString();
    }
}
