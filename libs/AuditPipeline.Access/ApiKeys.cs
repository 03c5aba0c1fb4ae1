using System.Security.Cryptography;
using System.Text;
using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using Npgsql;

namespace AuditPipeline.Access;

/// <summary>The roles of the query API.</summary>
public static class Roles
{
    public const string Auditor = "auditor";
    public const string OnCall = "oncall";
    public const string Admin = "admin";
    public static readonly IReadOnlyList<string> All = [Auditor, OnCall, Admin];
}

/// <summary>A principal's key as stored (never its secret).</summary>
public sealed record ApiKeyRecord(
    string KeyId, string Owner, IReadOnlyList<string> Roles, IReadOnlyList<string> Teams, IReadOnlyList<string> Owners,
    string? Description, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt)
{
    public bool IsScoped => Teams.Count > 0 || Owners.Count > 0;

    public string? Unusable(DateTimeOffset now) =>
        RevokedAt is not null ? "revoked" : ExpiresAt is { } e && e <= now ? "expired" : null;
}

/// <summary>
/// API keys look like <c>apk_&lt;key id&gt;_&lt;secret&gt;</c>: 12 lower-case characters of id, 43 of
/// base64url secret (256 bits). Only HMAC-SHA256(salt, secret) is stored; comparison is in
/// constant time. The token is shown once, at creation.
/// </summary>
public sealed class ApiKeyStore(NpgsqlDataSource dataSource, TimeProvider clock)
{
    private const string Prefix = "apk_";

    /// <summary>
    /// Creates a key through <c>audit_admin.create_api_key</c>, which stores the row and appends its
    /// api-key.v1 event in one transaction (no role may insert a key row directly).
    /// </summary>
    public async Task<(ApiKeyRecord Key, string Token)> CreateAsync(
        string owner, IReadOnlyList<string> roles, IReadOnlyList<string> teams, IReadOnlyList<string> owners,
        string? description, DateTimeOffset? expiresAt, string actor, CancellationToken ct)
    {
        var keyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        var salt = RandomNumberGenerator.GetBytes(16);
        var now = Timestamps.ToUtcMicroseconds(clock.GetUtcNow());
        var record = new ApiKeyRecorded
        {
            EventId = Guid.CreateVersion7(now), At = now, Action = ApiKeyAction.Created, KeyId = keyId, Actor = actor,
            Owner = owner, Roles = roles, Teams = teams, Owners = owners, Description = description,
            ExpiresAt = expiresAt is { } e ? Timestamps.ToUtcMicroseconds(e) : null,
        };
        await using var cmd = dataSource.CreateCommand(AccessSql.ApiKeyInsert);
        cmd.Parameters.AddWithValue("event_id", record.EventId);
        cmd.Parameters.AddWithValue("payload", Encoding.UTF8.GetString(ContractJson.SerializeCanonical(record)));
        cmd.Parameters.AddWithValue("salt", salt);
        cmd.Parameters.AddWithValue("hash", Hash(salt, secret));
        await cmd.ExecuteNonQueryAsync(ct);
        return (new ApiKeyRecord(keyId, owner, roles, teams, owners, description, now, record.ExpiresAt, null), $"{Prefix}{keyId}_{secret}");
    }

    /// <summary>The key a token names if its secret matches (whatever its state: the caller checks revoked/expired).</summary>
    public async Task<ApiKeyRecord?> AuthenticateAsync(string token, CancellationToken ct)
    {
        if (!TryParseToken(token, out var keyId, out var secret))
        {
            return null;
        }
        await using var cmd = dataSource.CreateCommand(AccessSql.ApiKeyFind);
        cmd.Parameters.AddWithValue("id", keyId);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }
        var expected = reader.GetFieldValue<byte[]>(1);
        if (!CryptographicOperations.FixedTimeEquals(expected, Hash(reader.GetFieldValue<byte[]>(0), secret)))
        {
            return null;
        }
        return Read(keyId, reader, offset: 2);
    }

    public async Task<List<ApiKeyRecord>> ListAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(AccessSql.ApiKeyList);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var keys = new List<ApiKeyRecord>();
        while (await reader.ReadAsync(ct))
        {
            keys.Add(Read(reader.GetString(0), reader, offset: 1));
        }
        return keys;
    }

    /// <summary>Revokes a key (for good: it can never be revived) and records it; false when there is no such active key.</summary>
    public async Task<bool> RevokeAsync(string keyId, string actor, CancellationToken ct)
    {
        var now = Timestamps.ToUtcMicroseconds(clock.GetUtcNow());
        var record = new ApiKeyRecorded { EventId = Guid.CreateVersion7(now), At = now, Action = ApiKeyAction.Revoked, KeyId = keyId, Actor = actor };
        await using var cmd = dataSource.CreateCommand(AccessSql.ApiKeyRevoke);
        cmd.Parameters.AddWithValue("event_id", record.EventId);
        cmd.Parameters.AddWithValue("payload", Encoding.UTF8.GetString(ContractJson.SerializeCanonical(record)));
        return await cmd.ExecuteScalarAsync(ct) is true;
    }

    /// <summary>The key id of a well-formed token (for logging who failed to authenticate), without checking it.</summary>
    public static bool TryParseToken(string token, out string keyId, out string secret)
    {
        keyId = secret = "";
        if (token.Length != Prefix.Length + 12 + 1 + 43 || !token.StartsWith(Prefix, StringComparison.Ordinal) || token[Prefix.Length + 12] != '_')
        {
            return false;
        }
        keyId = token.Substring(Prefix.Length, 12);
        secret = token[(Prefix.Length + 13)..];
        return keyId.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f')
            && secret.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
    }

    private static ApiKeyRecord Read(string keyId, NpgsqlDataReader r, int offset) => new(
        keyId, r.GetString(offset), r.GetFieldValue<string[]>(offset + 1), r.GetFieldValue<string[]>(offset + 2), r.GetFieldValue<string[]>(offset + 3),
        r.IsDBNull(offset + 4) ? null : r.GetString(offset + 4),
        r.GetFieldValue<DateTimeOffset>(offset + 5),
        r.IsDBNull(offset + 6) ? null : r.GetFieldValue<DateTimeOffset>(offset + 6),
        r.IsDBNull(offset + 7) ? null : r.GetFieldValue<DateTimeOffset>(offset + 7));

    private static byte[] Hash(byte[] salt, string secret) => HMACSHA256.HashData(salt, Encoding.ASCII.GetBytes(secret));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
