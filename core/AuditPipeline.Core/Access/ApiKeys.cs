using System.Security.Cryptography;
using System.Text;
using AuditPipeline.Core.Store;
using Npgsql;

namespace AuditPipeline.Core.Access;

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

    public async Task<(ApiKeyRecord Key, string Token)> CreateAsync(
        string owner, IReadOnlyList<string> roles, IReadOnlyList<string> teams, IReadOnlyList<string> owners,
        string? description, DateTimeOffset? expiresAt, CancellationToken ct)
    {
        var keyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        var salt = RandomNumberGenerator.GetBytes(16);
        var now = clock.GetUtcNow();
        await using var cmd = dataSource.CreateCommand(SqlScripts.Query("api_key_insert"));
        cmd.Parameters.AddWithValue("id", keyId);
        cmd.Parameters.AddWithValue("salt", salt);
        cmd.Parameters.AddWithValue("hash", Hash(salt, secret));
        cmd.Parameters.AddWithValue("owner", owner);
        cmd.Parameters.AddWithValue("roles", roles.ToArray());
        cmd.Parameters.AddWithValue("teams", teams.ToArray());
        cmd.Parameters.AddWithValue("owners", owners.ToArray());
        cmd.Parameters.AddWithValue("description", (object?)description ?? DBNull.Value);
        cmd.Parameters.AddWithValue("created", now);
        cmd.Parameters.AddWithValue("expires", (object?)expiresAt ?? DBNull.Value);
        await cmd.ExecuteNonQueryAsync(ct);
        return (new ApiKeyRecord(keyId, owner, roles, teams, owners, description, now, expiresAt, null), $"{Prefix}{keyId}_{secret}");
    }

    /// <summary>The key a token names if its secret matches (whatever its state: the caller checks revoked/expired).</summary>
    public async Task<ApiKeyRecord?> AuthenticateAsync(string token, CancellationToken ct)
    {
        if (!TryParseToken(token, out var keyId, out var secret))
        {
            return null;
        }
        await using var cmd = dataSource.CreateCommand(SqlScripts.Query("api_key_find"));
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
        await using var cmd = dataSource.CreateCommand(SqlScripts.Query("api_key_list"));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var keys = new List<ApiKeyRecord>();
        while (await reader.ReadAsync(ct))
        {
            keys.Add(Read(reader.GetString(0), reader, offset: 1));
        }
        return keys;
    }

    /// <summary>Revokes a key; false when there is no such active key.</summary>
    public async Task<bool> RevokeAsync(string keyId, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(SqlScripts.Query("api_key_revoke"));
        cmd.Parameters.AddWithValue("id", keyId);
        cmd.Parameters.AddWithValue("now", clock.GetUtcNow());
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
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
