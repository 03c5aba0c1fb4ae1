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

/// <summary>
/// Kafka → event store. Two stages so decoding overlaps the database write:
/// the consume loop reads and validates messages into batches; the write loop appends each
/// batch in one transaction, sends its rejects to the dead-letter topic, and only then
/// commits the batch's offsets. A crash anywhere before the commit means redelivery, which
/// the store deduplicates by event id: at-least-once in, exactly-once stored.
/// </summary>
public sealed partial class IngestWorker(
    IOptions<IngestOptions> options,
    IOptions<KafkaOptions> kafka,
    EventDecoder decoder,
    IEventStore store,
    IngestRedaction redaction,
    DeadLetterPublisher deadLetters,
    IngestMetrics metrics,
    TimeProvider clock,
    IHostApplicationLifetime lifetime,
    ILogger<IngestWorker> logger) : BackgroundService
{
    private readonly IngestOptions _options = options.Value;
    // Bumped on every partition revocation: batches read before it are still stored
    // (idempotent) but their offsets are not committed; the new owner resumes from the last commit.
    private int _generation;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var consumer = BuildConsumer();
        var batches = Channel.CreateBounded<Batch>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
        using var drainLimit = new CancellationTokenSource();
        using var drainOnStop = stoppingToken.Register(() => drainLimit.CancelAfter(_options.ShutdownDrainMs));

        // The consume loop blocks in librdkafka, so it gets its own thread.
        var consuming = Task.Factory.StartNew(
            () => ConsumeLoop(consumer, batches.Writer, stoppingToken),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            await WriteLoopAsync(consumer, batches.Reader, drainLimit.Token);
            await consuming;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogCritical(ex, "Ingest stopped on a non-recoverable error; uncommitted messages will be redelivered on restart");
            Environment.ExitCode = 1;
            lifetime.StopApplication();
            throw;
        }
        finally
        {
            batches.Writer.TryComplete();
            try
            {
                consumer.Close(); // leave the group now rather than after the session timeout
            }
            catch (KafkaException ex)
            {
                logger.LogWarning("Closing the Kafka consumer failed: {Reason}", ex.Error.Reason);
            }
        }
    }

    private IConsumer<byte[], byte[]> BuildConsumer()
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = kafka.Value.ResolveBootstrapServers(),
            GroupId = _options.GroupId,
            ClientId = $"audit-ingest-{Environment.MachineName}-{Environment.ProcessId}",
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            SessionTimeoutMs = _options.SessionTimeoutMs,
            MaxPollIntervalMs = Math.Max(300_000, _options.SessionTimeoutMs + 1000),
        };
        return new ConsumerBuilder<byte[], byte[]>(kafka.Value.Apply(config))
            .SetErrorHandler((_, e) =>
            {
                if (e.IsFatal)
                {
                    logger.LogCritical("Kafka consumer fatal error: {Reason}", e.Reason);
                    lifetime.StopApplication();
                }
                else
                {
                    logger.LogWarning("Kafka consumer error (librdkafka retries): {Reason}", e.Reason);
                }
            })
            .SetLogHandler((_, log) =>
            {
                // librdkafka reports an offset reset (the broker no longer holds messages this group
                // never consumed: they are lost upstream) only in its log; make it loud.
                if (log.Level <= SyslogLevel.Warning || log.Message.Contains("reset", StringComparison.OrdinalIgnoreCase))
                {
                    logger.LogWarning("librdkafka {Facility}: {Message}", log.Facility, log.Message);
                }
            })
            .SetPartitionsAssignedHandler((_, parts) =>
                logger.LogInformation("Assigned {Count} partition(s) of {Topic}", parts.Count, _options.Topic))
            .SetPartitionsRevokedHandler((_, parts) =>
            {
                Interlocked.Increment(ref _generation);
                logger.LogInformation("Revoked {Count} partition(s); uncommitted messages go to their next owner", parts.Count);
            })
            .SetPartitionsLostHandler((_, parts) =>
            {
                Interlocked.Increment(ref _generation);
                logger.LogWarning("Lost {Count} partition(s); uncommitted messages go to their next owner", parts.Count);
            })
            .Build();
    }

    private void ConsumeLoop(IConsumer<byte[], byte[]> consumer, ChannelWriter<Batch> output, CancellationToken ct)
    {
        try
        {
            consumer.Subscribe(_options.Topic);
            var maxWait = TimeSpan.FromMilliseconds(_options.BatchMaxWaitMs);
            while (!ct.IsCancellationRequested)
            {
                var generation = Volatile.Read(ref _generation);
                var batch = new Batch(generation, _options.BatchSize);
                var readStarted = Stopwatch.GetTimestamp();
                var deadline = clock.GetUtcNow() + maxWait;
                var handedOver = false;
                while (!handedOver && batch.Count < _options.BatchSize && !ct.IsCancellationRequested)
                {
                    var remaining = deadline - clock.GetUtcNow();
                    if (remaining <= TimeSpan.Zero)
                    {
                        if (batch.Count == 0)
                        {
                            deadline = clock.GetUtcNow() + maxWait;
                            continue;
                        }
                        batch.ReadTime = Stopwatch.GetElapsedTime(readStarted);
                        // Low load: a partial batch goes as soon as the writer can take it. Writer busy:
                        // keep filling this one, so batches grow with load (fewer, larger transactions).
                        handedOver = output.TryWrite(batch);
                        remaining = TimeSpan.FromMilliseconds(5);
                        if (handedOver)
                        {
                            break;
                        }
                    }
                    var result = ConsumeOne(consumer, batch, remaining, ct);
                    if (generation != Volatile.Read(ref _generation))
                    {
                        // A rebalance ran inside Consume: what was read is redelivered to the new owner.
                        batch = new Batch(Volatile.Read(ref _generation), _options.BatchSize);
                        generation = batch.Generation;
                    }
                    if (result?.Message is null)
                    {
                        continue;
                    }
                    Add(batch, result);
                }
                if (!handedOver && batch.Count > 0)
                {
                    batch.ReadTime = Stopwatch.GetElapsedTime(readStarted);
                    if (!output.TryWrite(batch))
                    {
                        // Back-pressure: a full batch and the writer is behind (or PostgreSQL is down).
                        // Waiting here keeps memory bounded; librdkafka keeps the group session alive
                        // on its own thread.
                        output.WriteAsync(batch, ct).AsTask().GetAwaiter().GetResult();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            output.TryComplete();
        }
    }

    /// <summary>
    /// One Consume call. A consume error never ends the loop unless librdkafka calls it fatal: a
    /// message it cannot deliver (corrupt, undecodable) is quarantined at its offset; anything else
    /// (broker down, topic missing) is waited out with the retry policy. With a partial batch in
    /// hand, control returns after one wait so the batch can still be handed over.
    /// </summary>
    private ConsumeResult<byte[], byte[]>? ConsumeOne(IConsumer<byte[], byte[]> consumer, Batch batch, TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            return consumer.Consume(timeout);
        }
        catch (ConsumeException ex)
        {
            if (KafkaErrors.Classify(ex.Error) == KafkaErrorKind.Fatal)
            {
                throw;
            }
            if (Quarantined(ex, batch))
            {
                return null;
            }
            // Errors are rare, so the pipeline is built here rather than on the path of every message.
            ConsumeException? seen = ex;
            var retry = RetryPolicies.Create(Backoff.UpTo(TimeSpan.FromMilliseconds(100), _options.MaxRetryDelayMs),
                (error, attempt) => error is ConsumeException c && IsWaitedOut(c) && (batch.Count == 0 || attempt == 0),
                wait =>
                {
                    var error = ((ConsumeException)wait.Error).Error;
                    metrics.Retried();
                    logger.LogWarning("Kafka consume error {Code}: {Reason}{Hint}; retrying in {Delay} ms",
                        error.Code, error.Reason, KafkaErrors.Hint(error, _options.Topic), (int)wait.Delay.TotalMilliseconds);
                }, clock: clock);
            try
            {
                return retry.Execute((CancellationToken _) =>
                {
                    if (seen is { } first)
                    {
                        seen = null;
                        throw first; // the error just seen: the policy reports it and waits its first delay
                    }
                    return consumer.Consume(timeout);
                }, ct);
            }
            catch (ConsumeException again)
            {
                if (KafkaErrors.Classify(again.Error) == KafkaErrorKind.Fatal)
                {
                    throw;
                }
                // Quarantined, or waited once with a partial batch in hand: hand it over, then retry.
                Quarantined(again, batch);
                return null;
            }
        }
    }

    private static bool IsWaitedOut(ConsumeException ex) =>
        KafkaErrors.Classify(ex.Error) switch
        {
            KafkaErrorKind.Fatal => false,
            KafkaErrorKind.Permanent => ex.ConsumerRecord is not { } record || record.Offset.Value < 0,
            _ => true,
        };

    /// <summary>A message Kafka cannot deliver is quarantined at its offset (true); anything else is transient (false).</summary>
    private static bool Quarantined(ConsumeException ex, Batch batch)
    {
        if (KafkaErrors.Classify(ex.Error) != KafkaErrorKind.Permanent || ex.ConsumerRecord is not { Message: var message } record || record.Offset.Value < 0)
        {
            return false;
        }
        var source = new SourceMessage(new SourcePosition(record.Topic, record.Partition.Value, record.Offset.Value),
            message?.Key, message?.Value ?? []);
        batch.Track(record.TopicPartitionOffset);
        batch.Rejects.Add(new QuarantineEntry(source, new Rejection(RejectCodes.BrokerRefused,
            $"Kafka could not deliver this message ({ex.Error.Code}): {ex.Error.Reason}")));
        return true;
    }

    private void Add(Batch batch, ConsumeResult<byte[], byte[]> result)
    {
        var source = new SourceMessage(
            new SourcePosition(result.Topic, result.Partition.Value, result.Offset.Value),
            result.Message.Key, result.Message.Value ?? []);
        batch.Track(result.TopicPartitionOffset);
        var (decoded, rejection) = decoder.Decode(source.Key, source.Value, clock.GetUtcNow());
        if (decoded is not null)
        {
            var e = decoded.Event;
            batch.Events.Add(new IncomingEvent(e.EventId, e.Agent.Id, AgentActionOccurred.TypeName, e.OccurredAt, decoded.Canonical, source));
            batch.Actions.Add(e);
        }
        else
        {
            batch.Rejects.Add(new QuarantineEntry(source, rejection!));
        }
    }

    private sealed class Batch(int generation, int capacity)
    {
        private readonly Dictionary<TopicPartition, Offset> _next = [];
        public int Generation { get; } = generation;
        public List<IncomingEvent> Events { get; } = new(capacity);
        /// <summary>The decoded form of each of <see cref="Events"/>, in the same order (redaction rewrites fields of it).</summary>
        public List<AgentActionOccurred> Actions { get; } = new(capacity);
        public List<QuarantineEntry> Rejects { get; } = [];
        public int Count => Events.Count + Rejects.Count;
        /// <summary>Time spent consuming and decoding this batch.</summary>
        public TimeSpan ReadTime { get; set; }

        public void Track(TopicPartitionOffset tpo) => _next[tpo.TopicPartition] = tpo.Offset + 1;

        public IEnumerable<TopicPartitionOffset> NextOffsets() =>
            _next.Select(kv => new TopicPartitionOffset(kv.Key, kv.Value));
    }
}
