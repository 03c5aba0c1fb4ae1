using AuditPipeline.Contracts;
using AuditPipeline.EventStore;
using AuditPipeline.Resilience;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AuditPipeline.QueryApi;

/// <summary>
/// Appends buffered call records (streams <c>api &lt;key id&gt;</c>) and, every
/// <see cref="QueryApiOptions.AnonymousSummarySeconds"/>, the anonymous-call counts (stream
/// <c>api anonymous</c>) to the store in batches. It never stops the API: while the store is
/// unreachable it retries the batch in hand with exponential backoff up to
/// <see cref="QueryApiOptions.CallRecordMaxRetryDelayMs"/>, and meanwhile the buffer fills and
/// then drops (counted); a batch refused for another reason is dropped after a few attempts;
/// any other failure is logged and the loop goes on. Drops are logged at most every 10 seconds.
/// On shutdown what is left gets one attempt.
/// </summary>
public sealed class CallRecordWriter(CallRecordBuffer buffer, AnonymousCalls anonymous, CallRecordStore store, ApiMetrics metrics,
    IOptions<QueryApiOptions> options, TimeProvider clock, ILogger<CallRecordWriter> logger) : BackgroundService
{
    private const int BatchSize = 1000;
    private const int AttemptsForRefusedBatches = 5;
    private static readonly TimeSpan ReportEvery = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(200);

    private List<CallRecordEvent> _pending = [];
    private long _droppedReported;
    private DateTimeOffset _nextReport;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var summaryEvery = TimeSpan.FromSeconds(options.Value.AnonymousSummarySeconds);
        var nextSummary = clock.GetUtcNow() + summaryEvery;
        _nextReport = clock.GetUtcNow() + ReportEvery;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await WaitForRecordsAsync((nextSummary < _nextReport ? nextSummary : _nextReport) - clock.GetUtcNow(), stoppingToken);
                Take(_pending);
                var now = clock.GetUtcNow();
                if (now >= nextSummary)
                {
                    TakeSummary(_pending);
                    nextSummary = now + summaryEvery;
                }
                if (_pending.Count > 0)
                {
                    await AppendAsync(_pending, stoppingToken);
                    _pending = [];
                }
                ReportDropsWhenDue();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // Losing the audit trail of API calls is bad; losing the API over it is worse.
                logger.LogError(ex, "The API call record writer failed; {Count} records in hand are dropped and it carries on", _pending.Count);
                metrics.Dropped(_pending.Count);
                _pending = [];
                await Task.Delay(FirstRetryDelay, clock, CancellationToken.None);
            }
        }
        await DrainAsync();
    }

    private async Task WaitForRecordsAsync(TimeSpan timeout, CancellationToken ct)
    {
        if (timeout <= TimeSpan.Zero)
        {
            return;
        }
        using var wait = new CancellationTokenSource(timeout, clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(wait.Token, ct);
        try
        {
            await buffer.Reader.WaitToReadAsync(linked.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // Time for a summary or a report.
        }
    }

    private async Task AppendAsync(List<CallRecordEvent> events, CancellationToken ct)
    {
        var attempts = 0;
        var retry = RetryPolicies.Create(Backoff.UpTo(FirstRetryDelay, options.Value.CallRecordMaxRetryDelayMs),
            (ex, attempt) => StoreUnavailable(ex) || attempt + 1 < AttemptsForRefusedBatches,
            wait =>
            {
                metrics.StoreFailing = true;
                if (wait.Attempt == 0 || (wait.Attempt + 1) % 20 == 0)
                {
                    logger.LogWarning("Recording {Count} API calls failed (attempt {Attempt}: {Error}); retrying with backoff, {Buffered} more buffered of {Capacity}",
                        events.Count, wait.Attempt + 1, wait.Error.Message, buffer.Count, buffer.Capacity);
                }
                ReportDropsWhenDue();
            }, clock: clock);
        try
        {
            await retry.ExecuteAsync(async (CancellationToken token) =>
            {
                attempts++;
                await store.Store.AppendToStreamsAsync(ByStream(events), token);
            }, ct);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            // Not the store being away (that is retried until it is back): it refused this batch.
            metrics.StoreFailing = true;
            metrics.Dropped(events.Count);
            logger.LogError("The store refused {Count} API call records {Attempts} times ({Error}); they are dropped", events.Count, attempts, ex.Message);
            return;
        }
        metrics.Written(events.Count);
        if (metrics.StoreFailing)
        {
            metrics.StoreFailing = false;
            logger.LogInformation("API call records are being stored again ({Count} appended)", events.Count);
        }
    }

    /// <summary>On shutdown: one attempt per batch of what is left; if the store is not there, the rest is counted as dropped.</summary>
    private async Task DrainAsync()
    {
        TakeSummary(_pending);
        do
        {
            Take(_pending);
            if (_pending.Count == 0)
            {
                break;
            }
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5), clock);
                await store.Store.AppendToStreamsAsync(ByStream(_pending), timeout.Token);
                metrics.Written(_pending.Count);
                _pending = [];
            }
            catch (Exception ex)
            {
                var lost = _pending.Count + buffer.Count;
                metrics.Dropped(lost);
                logger.LogError("On shutdown {Count} API call records could not be stored ({Error}) and are lost", lost, ex.Message);
                return;
            }
        }
        while (true);
        ReportDrops();
    }

    private void Take(List<CallRecordEvent> events)
    {
        while (events.Count < BatchSize && buffer.Reader.TryRead(out var call))
        {
            var payload = ContractJson.SerializeCanonical(call);
            events.Add(new CallRecordEvent(ApiCallRecorded.StreamOf(call.Principal.Replace(' ', '-')),
                new NewStreamEvent(call.EventId, ApiCallRecorded.TypeName, call.At, payload)));
        }
    }

    private void TakeSummary(List<CallRecordEvent> events)
    {
        if (anonymous.Take() is not { } summary)
        {
            return;
        }
        var payload = ContractJson.SerializeCanonical(summary);
        events.Add(new CallRecordEvent(ApiCallsAggregated.Stream, new NewStreamEvent(summary.EventId, ApiCallsAggregated.TypeName, summary.To, payload)));
    }

    private void ReportDropsWhenDue()
    {
        if (clock.GetUtcNow() >= _nextReport)
        {
            ReportDrops();
            _nextReport = clock.GetUtcNow() + ReportEvery;
        }
    }

    private void ReportDrops()
    {
        var dropped = metrics.CallRecordsDropped;
        if (dropped > _droppedReported)
        {
            logger.LogWarning("Dropped {Count} API call records since the last report ({Total} since start; buffer {Buffered} of {Capacity}): the store is slow or unavailable",
                dropped - _droppedReported, dropped, buffer.Count, buffer.Capacity);
            _droppedReported = dropped;
        }
    }

    /// <summary>
    /// One append per batch, each principal's stream in it once. Call records are a log with one writer
    /// (this API), not an aggregate read first, so any version will do.
    /// </summary>
    private static List<StreamAppend> ByStream(List<CallRecordEvent> events) =>
        [.. events.GroupBy(e => e.StreamId, StringComparer.Ordinal)
            .Select(g => new StreamAppend(g.Key, ExpectedVersion.Any, [.. g.Select(e => e.Event)]))];

    private static bool StoreUnavailable(Exception ex) => ex is NpgsqlException { IsTransient: true } or TimeoutException;
}

/// <summary>A call record on its way to the store: the principal's stream and the event.</summary>
internal sealed record CallRecordEvent(string StreamId, NewStreamEvent Event);
