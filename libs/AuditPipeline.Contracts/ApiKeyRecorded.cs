using System.Text.Json.Serialization;

namespace AuditPipeline.Contracts;

/// <summary>
/// An API key created or revoked (contract <c>api-key.v1</c>, stream <see cref="Stream"/>). Written
/// only by the database functions <c>audit_admin.create_api_key</c> / <c>revoke_api_key</c>, which
/// take the key row from this very payload, so a key can never exist without its record. The
/// secret, its hash and salt are never part of it.
/// </summary>
public sealed record ApiKeyRecorded
{
    public const string TypeName = "api-key.v1";
    public const string Stream = "api keys";

    public required Guid EventId { get; init; }
    public required DateTimeOffset At { get; init; }
    public required ApiKeyAction Action { get; init; }
    public required string KeyId { get; init; }
    /// <summary>The person or system that created or revoked it.</summary>
    public required string Actor { get; init; }
    public string? Owner { get; init; }
    public IReadOnlyList<string>? Roles { get; init; }
    public IReadOnlyList<string>? Teams { get; init; }
    public IReadOnlyList<string>? Owners { get; init; }
    public string? Description { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
}

[JsonConverter(typeof(StrictEnumConverter<ApiKeyAction>))]
public enum ApiKeyAction
{
    [JsonStringEnumMemberName("created")] Created,
    [JsonStringEnumMemberName("revoked")] Revoked,
}
