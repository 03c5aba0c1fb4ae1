using System.Diagnostics;
using System.Threading.Channels;
using AuditPipeline.Contracts;
using AuditPipeline.Contracts.Validation;
using AuditPipeline.EventStore;
using AuditPipeline.Kafka;
using AuditPipeline.Resilience;
using Confluent.Kafka;
using Microsoft.Extensions.Options;

namespace AuditPipeline.Ingest;

// The write side: append each batch durably, dead-letter its rejects, then commit its offsets.
public sealed partial class IngestWorker
{
    private async Task WriteLoopAsync(IConsumer<byte[], byte[]> consumer, ChannelReader<Batch> input, CancellationToken ct)
    {
        await foreach (var batch in input.ReadAllAsync(ct))
        {
            var appendStarted = Stopwatch.GetTimestamp();
            // Redaction needs the subjects' keys from the store, so it runs here rather than in the decode loop.
            var events = redaction.Redactor is not { } redactor || batch.Events.Count == 0 ? batch.Events
                : await RetryAsync("redact payload fields", token => redactor.RedactAsync(batch.Actions, batch.Events, token), ct);
            var result = await AppendIsolatingPoisonAsync(events, batch.Rejects, ct);
            var appendTime = Stopwatch.GetElapsedTime(appendStarted);
            var rejects = result.Conflicts.Count == 0 ? batch.Rejects : [.. batch.Rejects, .. result.Conflicts];
            if (rejects.Count > 0)
            {
                foreach (var reject in rejects)
                {
                    logger.LogWarning("Quarantined {Source} ({Code}): {Reason}",
                        reject.Source.Position, reject.Rejection.Code, reject.Rejection.Reason);
                }
                await PublishDeadLettersAsync(rejects, ct);
            }
            var commitStarted = Stopwatch.GetTimestamp();
            Commit(consumer, batch);
            metrics.Record(result, rejects.Count, batch.Count, appendTime, Stopwatch.GetElapsedTime(commitStarted), batch.ReadTime);
            if (metrics.TryTakeSummary(out var summary))
            {
                logger.LogInformation("Ingest progress: {Summary}", summary);
            }
        }
    }

    /// <summary>
    /// Appends the batch, waiting out outages. If the store refuses the batch for its data (a class 22
    /// or 23 error: one event it cannot take), the batch is split until the refused events are
    /// alone; those are quarantined with the database's reason and the rest is stored, so one
    /// poison event cannot stop its partitions.
    /// </summary>
    private async Task<AppendResult> AppendIsolatingPoisonAsync(List<IncomingEvent> events, IReadOnlyList<QuarantineEntry> rejects, CancellationToken ct)
    {
        try
        {
            return await RetryAsync("append to the event store", token => store.AppendAsync(events, rejects, token), ct);
        }
        catch (Npgsql.PostgresException ex) when (TransientErrors.IsDataRefusal(ex) && events.Count > 0)
        {
            if (events.Count == 1)
            {
                logger.LogError("The event store refused event {EventId} ({SqlState}: {Message}); quarantining it", events[0].EventId, ex.SqlState, ex.MessageText);
                var refused = new QuarantineEntry(events[0].Source, new Rejection(RejectCodes.StoreRefused,
                    $"The event store refused this event ({ex.SqlState}): {ex.MessageText}", events[0].EventId));
                var stored = await RetryAsync("record the refused event in quarantine", token => store.AppendAsync([], [.. rejects, refused], token), ct);
                return stored with { Conflicts = [refused] };
            }
            var half = events.Count / 2;
            var first = await AppendIsolatingPoisonAsync([.. events.Take(half)], rejects, ct);
            var second = await AppendIsolatingPoisonAsync([.. events.Skip(half)], [], ct);
            return new AppendResult(first.Appended + second.Appended, first.Duplicates + second.Duplicates,
                [.. first.Conflicts, .. second.Conflicts], second.Head.Value > 0 ? second.Head : first.Head);
        }
    }

    /// <summary>
    /// The dead-letter copy of each reject. The quarantine row is already durable, so a copy that the
    /// broker refuses for good, or that still fails after DeadLetterMaxAttempts, is logged and
    /// skipped rather than holding up every partition behind it.
    /// </summary>
    private async Task PublishDeadLettersAsync(IReadOnlyList<QuarantineEntry> rejects, CancellationToken ct)
    {
        var pending = rejects;
        var attempt = 0;
        var retry = RetryPolicies.Create(Backoff.UpTo(TimeSpan.FromMilliseconds(100), _options.MaxRetryDelayMs),
            ex => ex is DeadLettersPending,
            wait =>
            {
                metrics.Retried();
                logger.LogWarning("Dead-letter topic unavailable for {Count} message(s) (attempt {Attempt} of {Max}); retrying in {Delay} ms",
                    pending.Count, attempt, _options.DeadLetterMaxAttempts, (int)wait.Delay.TotalMilliseconds);
            }, clock: clock);
        await retry.ExecuteAsync(async (CancellationToken token) =>
        {
            attempt++;
            var failures = await deadLetters.PublishAsync(pending, token);
            var again = new List<QuarantineEntry>();
            foreach (var (entry, error) in failures)
            {
                if (KafkaErrors.Classify(error) != KafkaErrorKind.Transient || attempt >= _options.DeadLetterMaxAttempts)
                {
                    metrics.DeadLetterSkipped();
                    logger.LogError("Dead-letter copy of {Source} not sent ({Code}: {Reason}) after {Attempts} attempt(s); its quarantine row is stored, see auditctl store quarantine",
                        entry.Source.Position, error.Code, error.Reason, attempt);
                }
                else
                {
                    again.Add(entry);
                }
            }
            pending = again;
            if (pending.Count > 0)
            {
                throw new DeadLettersPending();
            }
        }, ct);
    }

    /// <summary>Some dead-letter copies failed for a reason worth another attempt.</summary>
    private sealed class DeadLettersPending : Exception;

    private void Commit(IConsumer<byte[], byte[]> consumer, Batch batch)
    {
        if (batch.Generation != Volatile.Read(ref _generation))
        {
            return; // partitions moved since this batch was read; its owner's commits rule now
        }
        try
        {
            consumer.Commit(batch.NextOffsets());
        }
        catch (KafkaException ex)
        {
            // Stored already; without the commit the messages come back and are deduplicated.
            logger.LogWarning("Offset commit failed ({Reason}); the batch will be redelivered and deduplicated", ex.Error.Reason);
        }
    }

    private async Task<T> RetryAsync<T>(string what, Func<CancellationToken, Task<T>> action, CancellationToken ct) =>
        await RetryPolicies.Create(Backoff.UpTo(TimeSpan.FromMilliseconds(100), _options.MaxRetryDelayMs), TransientErrors.IsTransient,
            wait =>
            {
                metrics.Retried();
                logger.LogWarning("Could not {What} (attempt {Attempt}: {Error}); retrying in {Delay} ms, offsets stay uncommitted",
                    what, wait.Attempt + 1, TransientErrors.Describe(wait.Error), (int)wait.Delay.TotalMilliseconds);
            }, clock: clock)
            .ExecuteAsync(async (CancellationToken token) => await action(token), ct);
}
