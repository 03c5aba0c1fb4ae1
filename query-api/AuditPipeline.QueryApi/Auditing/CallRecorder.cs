using System.Diagnostics;
using System.Threading.Channels;
using AuditPipeline.Core.Contract;
using AuditPipeline.Core.Store;
using Microsoft.AspNetCore.Routing;

namespace AuditPipeline.QueryApi;

/// <summary>Per-request facts the recorder needs (who called), filled in by authentication.</summary>
public sealed class CallContext
{
    public string Principal { get; set; } = "anonymous";
    public string? PrincipalOwner { get; set; }

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
/// Records every API call (who, what, when, outcome) as an <c>api-call.v1</c> event. Calls are
/// queued and appended in batches by <see cref="CallRecordWriter"/>, so recording never slows a
/// request down; the queue is flushed on shutdown. Health probes are not recorded.
/// </summary>
public sealed class CallRecorder(RequestDelegate next, Channel<ApiCallRecorded> queue, TimeProvider clock)
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
        try
        {
            await next(context);
        }
        finally
        {
            var call = CallContext.Of(context);
            var status = context.Response.StatusCode;
            var query = context.Request.QueryString.Value;
            var record = new ApiCallRecorded
            {
                EventId = Guid.CreateVersion7(at),
                At = Timestamps.ToUtcMicroseconds(at),
                Principal = call.Principal,
                PrincipalOwner = call.PrincipalOwner,
                Method = context.Request.Method,
                Route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? Truncate(context.Request.Path.Value ?? "/", 200),
                Path = Truncate(context.Request.Path.Value ?? "/", 1000),
                Query = string.IsNullOrEmpty(query) ? null : Truncate(query, 1000),
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
            };
            await queue.Writer.WriteAsync(record, CancellationToken.None);
        }
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];
}

/// <summary>Appends queued call records to the store in batches (streams <c>api &lt;key id&gt;</c>).</summary>
public sealed class CallRecordWriter(Channel<ApiCallRecorded> queue, IEventStore store, ILogger<CallRecordWriter> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<ApiCallRecorded>();
        while (await WaitAsync(stoppingToken))
        {
            while (batch.Count < 1000 && queue.Reader.TryRead(out var call))
            {
                batch.Add(call);
            }
            await AppendWithRetryAsync(batch);
            batch.Clear();
        }
    }

    /// <summary>Waits for records; on shutdown returns true while any remain so the queue is drained.</summary>
    private async Task<bool> WaitAsync(CancellationToken ct)
    {
        try
        {
            return await queue.Reader.WaitToReadAsync(ct);
        }
        catch (OperationCanceledException)
        {
            return queue.Reader.TryPeek(out _);
        }
    }

    private async Task AppendWithRetryAsync(List<ApiCallRecorded> batch)
    {
        var events = batch.Select(c =>
        {
            var payload = ContractJson.SerializeCanonical(c);
            return new IncomingEvent(c.EventId, ApiCallRecorded.StreamOf(c.Principal.Replace(' ', '-')), ApiCallRecorded.TypeName, c.At, payload,
                new SourceMessage(new SourcePosition("query-api", 0, 0), null, payload));
        }).ToList();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await store.AppendAsync(events, [], CancellationToken.None);
                return;
            }
            catch (Exception ex) when (attempt < 10)
            {
                logger.LogWarning("Recording {Count} API calls failed ({Error}); retrying", events.Count, ex.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt));
            }
        }
    }
}
