namespace AuditPipeline.Contracts;

/// <summary>Contract enums as they are spelled on the wire and in every read model (lowercase names).</summary>
public static class WireNames
{
    public static string Of<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();
}
