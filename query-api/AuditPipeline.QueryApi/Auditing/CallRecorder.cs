using System.Diagnostics;
using AuditPipeline.Contracts;
using Microsoft.AspNetCore.Routing;

namespace AuditPipeline.QueryApi;

/// <summary>Per-request facts the recorder needs (who called), filled in by authentication.</summary>
public sealed class CallContext
{
    public const string Anonymous = "anonymous";

    public string Principal { get; set; } = Anonymous;
    public string? PrincipalOwner { get; set; }
    /// <summary>Why authentication failed (one of the <see cref="AnonymousCalls"/> reasons), when it did.</summary>
    public string? AuthFailure { get; set; }

    public static CallContext Of(HttpContext context)
    {
        if (context.Items[typeof(CallContext)] is not CallContext call)
        {
            call = new CallContext();
            context.Items[typeof(CallContext)] = call;
        }
        return call;
    }
}

/// <summary>
/// Records every API call (who, what, when, outcome) as an <c>api-call.v1</c> event. Records go
/// to a bounded buffer that <see cref="CallRecordWriter"/> appends in batches, so recording never
/// slows a request down. Calls refused for want of a usable key are counted by
/// <see cref="AnonymousCalls"/> instead (one aggregated record per interval), and rate-limited
/// calls never get here (the limiter runs first and counts them there). Personal query values
/// are redacted (<see cref="QueryStringRedactor"/>). Health probes are not recorded.
/// </summary>
public sealed class CallRecorder(RequestDelegate next, CallRecordBuffer buffer, AnonymousCalls anonymous, QueryStringRedactor redactor, TimeProvider clock)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase))
        {
            await next(context);
            return;
        }
        var started = Stopwatch.GetTimestamp();
        var at = clock.GetUtcNow();
        var failed = false;
        try
        {
            await next(context);
        }
        catch
        {
            failed = true; // the exception handler outside answers 500
            throw;
        }
        finally
        {
            Record(context, at, started, failed ? 500 : context.Response.StatusCode);
        }
    }

    private void Record(HttpContext context, DateTimeOffset at, long started, int status)
    {
        var call = CallContext.Of(context);
        if (call.Principal == CallContext.Anonymous && status == 401)
        {
            anonymous.Count(call.AuthFailure ?? AnonymousCalls.Unauthenticated, null, context.Connection.RemoteIpAddress?.ToString());
            return;
        }
        buffer.Add(new ApiCallRecorded
        {
            EventId = Guid.CreateVersion7(at),
            At = Timestamps.ToUtcMicroseconds(at),
            Principal = call.Principal,
            PrincipalOwner = call.PrincipalOwner,
            Method = context.Request.Method,
            Route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? Truncate(context.Request.Path.Value ?? "/", 200),
            Path = Truncate(context.Request.Path.Value ?? "/", 1000),
            Query = redactor.Redact(context.Request.QueryString.Value),
            Status = status,
            Outcome = status switch
            {
                401 => "unauthenticated",
                403 => "forbidden",
                404 => "not_found",
                429 => "rate_limited",
                >= 400 and < 500 => "invalid",
                >= 500 => "error",
                _ => "allowed",
            },
            DurationMs = Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 3),
            RemoteAddress = context.Connection.RemoteIpAddress?.ToString(),
        });
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];
}
