using Polly;
using Polly.Retry;

namespace AuditPipeline.Resilience;

/// <summary>Exponential backoff: about <see cref="First"/>, then doubling, never longer than <see cref="Max"/>, with jitter.</summary>
public sealed record Backoff(TimeSpan First, TimeSpan Max)
{
    /// <summary>The backoff of an option such as <c>MaxRetryDelayMs</c>: from <paramref name="first"/> up to that many milliseconds.</summary>
    public static Backoff UpTo(TimeSpan first, int maxDelayMs) =>
        new(first, TimeSpan.FromMilliseconds(Math.Max(maxDelayMs, first.TotalMilliseconds)));
}

/// <summary>One wait before a retry: the attempt that failed (0 for the first), how long, and why.</summary>
public readonly record struct RetryWait(int Attempt, TimeSpan Delay, Exception Error);

/// <summary>
/// The one way this code base retries: a Polly retry pipeline with capped exponential backoff and
/// jitter (so instances that failed together do not retry together). Polly counts attempts per
/// execution, so every call starts again from the first delay: a success resets the backoff.
/// Each wait is reported with its error (callers log it in their own words); cancellation ends
/// a wait at once.
/// </summary>
public static class RetryPolicies
{
    /// <summary>
    /// Retries the failures <paramref name="shouldRetry"/> accepts, up to <paramref name="maxRetries"/>
    /// times (by default until they stop); anything else, and the last failure, is thrown.
    /// </summary>
    public static ResiliencePipeline Create(
        Backoff backoff, Func<Exception, bool> shouldRetry, Action<RetryWait> onWait, int maxRetries = int.MaxValue, TimeProvider? clock = null) =>
        Create(backoff, (ex, _) => shouldRetry(ex), onWait, maxRetries, clock);

    /// <summary>As above, where whether to retry also depends on the attempt that failed (0 for the first).</summary>
    public static ResiliencePipeline Create(
        Backoff backoff, Func<Exception, int, bool> shouldRetry, Action<RetryWait> onWait, int maxRetries = int.MaxValue, TimeProvider? clock = null)
    {
        var builder = new ResiliencePipelineBuilder();
        if (clock is not null)
        {
            builder.TimeProvider = clock;
        }
        return builder.AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex && shouldRetry(ex, args.AttemptNumber)),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = backoff.First,
            MaxDelay = backoff.Max,
            MaxRetryAttempts = maxRetries,
            OnRetry = args =>
            {
                onWait(new RetryWait(args.AttemptNumber, args.RetryDelay, args.Outcome.Exception!));
                return ValueTask.CompletedTask;
            },
        }).Build();
    }
}
