using System.Text.Json;

namespace AuditPipeline.Testing;

/// <summary>
/// What the fuzz mutations draw on: the contract's members by kind (pointers, <c>*</c> for any array
/// index) and, for each kind, values no field of that kind accepts.
/// </summary>
internal static class HostileValues
{
    public static readonly HashSet<string> Required = new(StringComparer.Ordinal)
    {
        "/event_id", "/occurred_at", "/schema_version", "/agent", "/delegation", "/action", "/authorization", "/outcome",
        "/agent/id", "/agent/name", "/delegation/chain/*/type", "/delegation/chain/*/id", "/action/operation", "/action/resource",
        "/action/resource/type", "/action/resource/id", "/action/resource/sensitivity", "/authorization/decision",
        "/authorization/policy_id", "/authorization/policy_version", "/authorization/approvals/*/approver",
        "/authorization/approvals/*/approved_at", "/outcome/status",
    };

    public static readonly string[] Ids =
    [
        "/agent/id", "/agent/owner", "/agent/team", "/delegation/on_behalf_of", "/delegation/chain/*/id", "/action/resource/type",
        "/authorization/policy_id", "/authorization/policy_version", "/authorization/decision_id", "/authorization/approvals/*/approver",
        "/authorization/approvals/*/approval_id", "/context/trace_id", "/context/span_id", "/context/session_id", "/context/task_id",
        "/context/prompt_hash", "/context/gateway_id", "/outcome/error_code",
    ];

    public static readonly string[] Texts =
    [
        "/agent/name", "/agent/version", "/agent/model", "/agent/model_version", "/agent/framework", "/delegation/chain/*/name",
        "/action/operation", "/action/tool", "/action/input", "/action/resource/id", "/authorization/rule", "/authorization/reason",
        "/outcome/message",
    ];

    public static readonly string[] Redactable =
    [
        "/action/input", "/outcome/message", "/authorization/reason", "/delegation/on_behalf_of", "/delegation/chain/*/name",
        "/authorization/approvals/*/approver",
    ];

    public static readonly string[] TimestampFields = ["/occurred_at", "/authorization/approvals/*/approved_at", "/authorization/grant_expires_at"];
    public static readonly string[] EnumFields = ["/agent/risk_tier", "/delegation/chain/*/type", "/action/resource/sensitivity", "/authorization/decision", "/outcome/status"];
    public static readonly string[] IntegerFields = ["/usage/input_tokens", "/usage/output_tokens", "/usage/duration_ms"];

    public static readonly string[] ScalarsForSwap = ["0", "-1", "3.5", "true", "false", "null", "\"x\"", "[]", "{}", "[\"a\"]", "{\"a\":1}"];

    // Numbers at the limits that no field accepts, by field.
    public static readonly string[] BadSchemaVersions = ["0", "-0", "2", "-1", "1.5", "1e309", "-1e309", "9223372036854775808", "18446744073709551616", "1e400", "0.999999999999999999999999999999", "1E+99999999999999999999", "1e-99999999999999999999"];
    public static readonly string[] BadIntegers = ["-1", "9223372036854775808", "18446744073709551616", "1e19", "1e309", "-1e309", "0.5", "1e-7", "-9223372036854775809", "123456789012345678901234567890", "1.5e300", "-0.5",
        "1830.0000000000000000000000000000001", "4.2e-30", "1e99999999999999999999", "-1E309", "1.8e308"];
    public static readonly string[] BadCosts = ["1000000.0000001", "-0.000001", "1e309", "-1e309", "1e7", "79228162514264337593543950336", "1e400", "-1", "1000001",
        // More digits than decimal keeps: rounded, they were stored as another cost (or as exactly the maximum).
        "0.0086950000000000000000000000000001", "1000000.00000000000000000000000001", "-0.00000000000000000000000000000001"];
    // Tokens that look like numbers to some parsers and are not JSON.
    public static readonly string[] NotJsonNumbers = ["NaN", "-NaN", "Infinity", "-Infinity", "+1", "01", ".5", "1.", "0x1F", "1e", "--1", "1_000", "1e+", "-", "infinity", "nan"];

    public static readonly byte[][] InvalidUtf8 =
    [
        [0xFF], [0xFE], [0xC0, 0xAF], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80], [0xF8, 0x88, 0x80, 0x80, 0x80],
        [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xF0, 0x9F, 0x98],
    ];

    public static readonly string[] LoneSurrogates = ["\\ud800", "\\udfff", "\\ud83ex", "\\udc00\\ud800", "\\uD800\\u0041", "\\udbff"];

    public static readonly string[] ExtraNames = ["extra", "agentId", "EVENT_ID", "event_id ", "", "é", "__proto__", "constructor", "$ref", "a/b", "~x", "Id", "x-forwarded-for"];

    public static readonly string[] BadIds = [" ", "a b", "tab\there", "nl\nx", "nbsp\u00a0x", "ls\u2028x", "nul\u0000x", "", "del\u007fx", "   "];
    public static readonly string[] BadTexts = ["", "   ", "\t\n", "nul\u0000inside", "\u3000"];
    public static readonly string[] BadEnums = ["ALLOW", "allow ", "", "unknown", "Low", "0", "s\u0000uccess"];
    public static readonly string[] BadTimestamps =
    [
        "2026-12-2T04:33:48Z", "2026-11-22 10:15:30Z", "2026-11-22T10:15:30", "2026-11-22T10:15:30 +00:00", "2026-11-22T04:34+00:00",
        "2026-11-22T10:15:30+0", "2026-11-22T10:15:30+00", "2026-11-22T10:15:30+0000", "2026-02-30T10:15:30Z", "2026-11-22T24:00:00Z",
        "2026-12-31T23:59:60Z", "yesterday", "", "2026-11-22T10:15:30.Z", "2026-11-22T10:15:30Z" + new string('0', 30), "1e309",
        "2026-11-22T10:15:30+24:00", "0000-00-00T00:00:00Z", "9999-12-31T23:59:59-23:59",
    ];
    public static readonly string[] BadUuids =
    [
        "00000000-0000-0000-0000-000000000000", "not-a-uuid", "{01a202c0-f64b-7c4e-9a51-3e8f2c6d1a47}", "01a202c0f64b7c4e9a513e8f2c6d1a47",
        "01a202c0-f64b-7c4e-9a51-3e8f2c6d1a4", "01a202c0-f64b-7c4e-9a51-3e8f2c6d1a47x", "g1a202c0-f64b-7c4e-9a51-3e8f2c6d1a47", "",
    ];
}
