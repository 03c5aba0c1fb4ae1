namespace AuditPipeline.Contracts;

/// <summary>
/// Value prefixes only ingest may write: a redactable field that starts with one holds a value
/// redacted at ingest (encrypted or keyed-hashed). One arriving from an emitter would pose as
/// redacted data, so validation rejects it (docs/event-contract.md, "Reserved prefixes").
/// </summary>
public static class ReservedPrefixes
{
    public const string Encrypted = "enc:v1:";
    public const string Hashed = "hmac:v1:";

    public static bool IsReserved(string value) =>
        value.StartsWith(Encrypted, StringComparison.Ordinal) || value.StartsWith(Hashed, StringComparison.Ordinal);
}
