using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using AuditPipeline.Access;
using Microsoft.Extensions.Options;

namespace AuditPipeline.QueryApi.Auth;

/// <summary>
/// Key ids that authenticated in this process. Only a correct secret gets an id in here, so the
/// set is bounded by the real keys (and capped anyway); a failure takes the id out again.
/// </summary>
public sealed class KnownKeys
{
    private const int Max = 100_000;
    private readonly ConcurrentDictionary<string, byte> _ids = new(StringComparer.Ordinal);

    public bool Contains(string keyId) => _ids.ContainsKey(keyId);

    public void Remember(string keyId)
    {
        if (_ids.Count < Max)
        {
            _ids.TryAdd(keyId, 0);
        }
    }

    public void Forget(string keyId) => _ids.TryRemove(keyId, out _);
}

/// <summary>
/// The token bucket per caller (<see cref="QueryApiOptions.RequestsPerSecond"/>,
/// <see cref="QueryApiOptions.Burst"/>). It runs before authentication and call recording, so it
/// decides without the database: a request is limited by its presented key id when that id has
/// authenticated in this process before (<see cref="KnownKeys"/>), otherwise by its client
/// address. Random or guessed key ids therefore share their sender's bucket instead of each
/// getting a fresh one, and a flood of them costs at most the bucket's worth of key look-ups.
/// Rejections are answered 429 with Retry-After and counted in the aggregated anonymous record.
/// </summary>
public static class RequestRateLimits
{
    private const string KeyItem = "rate-limit-key";

    public static void Add(IServiceCollection services)
    {
        services.AddSingleton<KnownKeys>();
        services.AddRateLimiter(options =>
        {
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
            {
                var settings = context.RequestServices.GetRequiredService<IOptions<QueryApiOptions>>().Value;
                return RateLimitPartition.GetTokenBucketLimiter(PartitionOf(context), _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = settings.Burst,
                    TokensPerPeriod = settings.RequestsPerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                });
            });
            options.OnRejected = async (context, ct) =>
            {
                var http = context.HttpContext;
                http.RequestServices.GetRequiredService<ApiMetrics>().RateLimited();
                http.RequestServices.GetRequiredService<AnonymousCalls>()
                    .Count(AnonymousCalls.RateLimited, http.Items[KeyItem] as string, http.Connection.RemoteIpAddress?.ToString());
                http.Response.Headers.RetryAfter = "1";
                await Results.Problem(statusCode: 429, title: "Too many requests",
                    detail: "This API key (or, without a known key, this address) is over its request rate (QueryApi:RequestsPerSecond); retry after a second.")
                    .ExecuteAsync(http);
            };
        });
    }

    private static string PartitionOf(HttpContext context)
    {
        var services = context.RequestServices;
        var token = ApiKeyAuthenticationHandler.PresentedToken(context.Request, services.GetRequiredService<ConsoleSessions>());
        if (token is not null && ApiKeyStore.TryParseToken(token, out var keyId, out _) && services.GetRequiredService<KnownKeys>().Contains(keyId))
        {
            context.Items[KeyItem] = keyId;
            return "key " + keyId;
        }
        return "ip " + context.Connection.RemoteIpAddress;
    }
}
