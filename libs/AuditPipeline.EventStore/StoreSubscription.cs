using AuditPipeline.Contracts;
using System.Text;
using Npgsql;

namespace AuditPipeline.EventStore;

/// <summary>Handles one batch of events in log order. It must be idempotent: after a crash the batch comes again.</summary>
public delegate Task EventBatchHandler(IReadOnlyList<StoredEvent> events, CancellationToken ct);

public sealed record SubscriptionOptions
{
    public int BatchSize { get; init; } = 5000;
    /// <summary>Longest sleep between polls when no notification arrives (notifications make tailing immediate).</summary>
    public TimeSpan IdlePoll { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>How often a standby instance retries the leader lock.</summary>
    public TimeSpan StandbyRetry { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Runs once the leader lock is held, before the checkpoint is read (e.g. a rebuild resets it here).</summary>
    public Func<CancellationToken, Task>? OnActivated { get; init; }
    /// <summary>Return when the head is reached instead of tailing (rebuilds, tools).</summary>
    public bool StopWhenCaughtUp { get; init; }
    /// <summary>Deliver only alert events (agent-alert.v1), read through their index: alert sinks need not read every action.</summary>
    public bool AlertsOnly { get; init; }
}

/// <summary>
/// Delivers every committed event once per subscriber, in log order, from its checkpoint:
/// catch-up from zero, then live tailing woken by NOTIFY. One active instance per subscription
/// name across processes (a session advisory lock held while running; a standby takes over
/// when the holder's connection ends). The checkpoint is saved after the handler returns, so
/// delivery is at-least-once per batch and handlers are idempotent. The lock is held through
/// <paramref name="leaders"/>, shared by every subscription of a host (see <see cref="LeaderLocks"/>);
/// without it the subscription opens its own lock connection for the run.
/// </summary>
public sealed class StoreSubscription(
    NpgsqlDataSource dataSource, string name, EventBatchHandler handler, SubscriptionOptions? options = null, LeaderLocks? leaders = null)
{
    private readonly SubscriptionOptions _options = options ?? new SubscriptionOptions();

    /// <summary>True while this instance holds the leader lock.</summary>
    public bool IsActive { get; private set; }

    /// <summary>Last position handled (0 before the first event).</summary>
    public long Position { get; private set; }

    /// <summary>Latest log size this instance has seen (from reads and commit notifications).</summary>
    public long Head { get; private set; }

    public string Name => name;

    /// <summary>Recorded time of the last handled event; with <see cref="Head"/> ahead, how far behind in time.</summary>
    public DateTimeOffset? LastHandledRecordedAt { get; private set; }

    /// <summary>Seconds behind: 0 when caught up, else the age of the last handled event's commit.</summary>
    public double LagSeconds => Head > Position && LastHandledRecordedAt is { } at
        ? Math.Max(0, (DateTimeOffset.UtcNow - at).TotalSeconds)
        : 0;

    /// <summary>Stands by until this instance leads, then handles events until cancelled (or caught up, or the lease is lost).</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var ownLocks = leaders is null ? new LeaderLocks(dataSource) : null;
        try
        {
            await using var lease = await (leaders ?? ownLocks!).AcquireAsync(name, _options.StandbyRetry, ct);
            // Everything below stops when the lease is lost: another instance may lead from then on.
            using var run = CancellationTokenSource.CreateLinkedTokenSource(ct, lease.Lost);
            IsActive = true;
            try
            {
                await LeadAsync(lease, run.Token);
            }
            catch (OperationCanceledException) when (lease.Lost.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                throw new LeadershipLostException(name);
            }
            finally
            {
                IsActive = false;
            }
        }
        finally
        {
            if (ownLocks is not null)
            {
                await ownLocks.DisposeAsync();
            }
        }
    }

    private async Task LeadAsync(LeaderLease lease, CancellationToken ct)
    {
        if (_options.OnActivated is { } onActivated)
        {
            await onActivated(ct);
        }
        await using var listenConn = await dataSource.OpenConnectionAsync(ct);
        using var woken = new SemaphoreSlim(0);
        listenConn.Notification += (_, e) =>
        {
            if (long.TryParse(e.Payload, System.Globalization.CultureInfo.InvariantCulture, out var head) && head > Head)
            {
                Head = head;
            }
            woken.Release();
        };
        await using (var listen = new NpgsqlCommand("LISTEN audit_events", listenConn))
        {
            await listen.ExecuteNonQueryAsync(ct);
        }
        using var stopListening = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var listening = ListenAsync(listenConn, stopListening.Token);
        try
        {
            await TailAsync(lease, woken, listening, ct);
        }
        finally
        {
            await stopListening.CancelAsync();
            try
            {
                await listening;
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private async Task TailAsync(LeaderLease lease, SemaphoreSlim woken, Task listening, CancellationToken ct)
    {
        Position = await ReadCheckpointAsync(ct);
        Head = Math.Max(Head, Position);
        using var registration = SubscriptionMetrics.Track(this);
        Task<List<StoredEvent>>? next = null;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var batch = await (next ?? ReadAfterAsync(Position, ct));
            next = null;
            if (batch.Count == 0)
            {
                if (_options.StopWhenCaughtUp)
                {
                    return;
                }
                if (listening.IsFaulted)
                {
                    await listening; // the notification connection broke: surface it
                }
                // Sleep until an append commits (or the idle poll, in case a notification was missed).
                await woken.WaitAsync(_options.IdlePoll, ct);
                continue;
            }
            if (!_options.AlertsOnly && batch[0].GlobalSeq != Position + 1 && !await IsDroppedAsync(Position, batch[0].GlobalSeq, ct))
            {
                throw new InvalidOperationException(
                    $"Subscription {name}: expected log position {Position + 1} next but found {batch[0].GlobalSeq}; the log has a hole that no dropped month accounts for (run auditctl verify --archive).");
            }
            var upTo = batch[^1].GlobalSeq;
            if (batch.Count == _options.BatchSize)
            {
                // Catching up: read the next batch while this one is handled (the database and the
                // handler then work at the same time). Reading ahead is only a read; the checkpoint
                // still moves after the handler.
                next = ReadAfterAsync(upTo, ct);
            }
            try
            {
                await handler(batch, ct);
            }
            catch when (next is not null)
            {
                // The read-ahead is abandoned with the failed batch; observe it so its fault is not lost unseen.
                _ = next.ContinueWith(t => t.Exception, TaskScheduler.Default);
                throw;
            }
            Position = upTo;
            LastHandledRecordedAt = batch[^1].RecordedAt;
            Head = Math.Max(Head, Position);
            // Through the lock connection: only the current leader can move the checkpoint.
            await lease.SaveCheckpointAsync(Position, ct);
        }
    }

    /// <summary>
    /// Whether every position strictly between the two is an event of a month dropped from the hot
    /// store (docs/retention.md): a replay from zero then skips the months that only the archive holds.
    /// </summary>
    private async Task<bool> IsDroppedAsync(long after, long next, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(StoreSql.DroppedEventsBetween);
        cmd.Parameters.AddWithValue("after", after);
        cmd.Parameters.AddWithValue("next", next);
        return (long)(await cmd.ExecuteScalarAsync(ct))! == next - after - 1;
    }

    /// <summary>Keeps reading notifications off the LISTEN connection; the handler wakes the tail loop.</summary>
    private static async Task ListenAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        while (true)
        {
            await connection.WaitAsync(ct);
        }
    }

    private Task<long> ReadCheckpointAsync(CancellationToken ct) => ReadCheckpointAsync(dataSource, name, ct);

    /// <summary>The last position a subscription has handled (0 before its first event).</summary>
    public static async Task<long> ReadCheckpointAsync(NpgsqlDataSource dataSource, string name, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(StoreSql.ReadCheckpoint);
        cmd.Parameters.AddWithValue("name", name);
        return await cmd.ExecuteScalarAsync(ct) is long position ? position : 0;
    }

    private Task<List<StoredEvent>> ReadAfterAsync(long after, CancellationToken ct) =>
        ReadAfterAsync(dataSource, after, _options.BatchSize, ct, _options.AlertsOnly ? StoreSql.ReadAlertEventsAfter : StoreSql.ReadEventsAfter);

    /// <summary>Up to <paramref name="limit"/> events after a position, in log order (also for warm-up replays).</summary>
    public static async Task<List<StoredEvent>> ReadAfterAsync(
        NpgsqlDataSource dataSource, long after, int limit, CancellationToken ct, string? sql = null)
    {
        await using var cmd = dataSource.CreateCommand(sql ?? StoreSql.ReadEventsAfter);
        cmd.Parameters.AddWithValue("after", after);
        cmd.Parameters.AddWithValue("limit", limit);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var events = new List<StoredEvent>();
        while (await reader.ReadAsync(ct))
        {
            events.Add(new StoredEvent(
                reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetGuid(3), reader.GetString(4),
                reader.GetFieldValue<DateTimeOffset>(5), reader.GetFieldValue<DateTimeOffset>(6),
                Encoding.UTF8.GetBytes(reader.GetString(7)), reader.GetFieldValue<byte[]>(8), reader.GetFieldValue<byte[]>(9)));
        }
        return events;
    }
}
