using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace AuditPipeline.QueryApi.Auth;

/// <summary>
/// Browser sessions of the web console. Signing in exchanges an API key for a random session id
/// sent back as an HttpOnly, SameSite=Strict cookie: the browser never keeps the key (not in
/// storage, not readable by script), and the key is re-checked on every request, so revoking it
/// ends its sessions at once. Sessions live in this process's memory (a restart signs everyone
/// out; behind several API replicas use sticky sessions) and are looked up by the SHA-256 of the
/// id, so the ids themselves are not kept.
/// </summary>
public sealed class ConsoleSessions(TimeProvider clock)
{
    public const string CookieName = "ap_session";
    /// <summary>Cookie-authenticated requests that change something must carry this header: a cross-site form cannot set it.</summary>
    public const string CsrfHeader = "X-AuditPipeline-Console";

    private readonly ConcurrentDictionary<string, (string Token, DateTimeOffset Expires)> _sessions = new();

    public (string Id, DateTimeOffset Expires) Create(string token, TimeSpan lifetime)
    {
        Sweep();
        var id = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).Replace('+', '-').Replace('/', '_').TrimEnd('=');
        var expires = clock.GetUtcNow() + lifetime;
        _sessions[Key(id)] = (token, expires);
        return (id, expires);
    }

    public string? TokenOf(string id) =>
        _sessions.TryGetValue(Key(id), out var s) && s.Expires > clock.GetUtcNow() ? s.Token : null;

    public void End(string id) => _sessions.TryRemove(Key(id), out _);

    private void Sweep()
    {
        var now = clock.GetUtcNow();
        foreach (var (key, session) in _sessions)
        {
            if (session.Expires <= now)
            {
                _sessions.TryRemove(key, out _);
            }
        }
    }

    private static string Key(string id) => Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(id)));
}
