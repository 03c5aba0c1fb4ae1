using Npgsql;

namespace AuditPipeline.EventStore;

public sealed record LeaderLockOptions
{
    /// <summary>How often the lock connection is checked.</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>A check that has not succeeded within this long counts as a lost connection.</summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Wait after taking a lock before handling anything. A previous holder whose connection the
    /// server has already closed may not know it yet; it notices within ProbeInterval + ProbeTimeout
    /// and stops, so a grace at least that long keeps the two from handling at the same time.
    /// Zero for one-shot runs (rebuilds, tools), which accept that window to start at once.
    /// </summary>
    public TimeSpan TakeoverGrace { get; init; }

    /// <summary>The options of a long-running host: a takeover grace that covers the check window.</summary>
    public static LeaderLockOptions ForHost() => new() { TakeoverGrace = TimeSpan.FromMilliseconds(1500) };
}

/// <summary>
/// The leader locks of subscriptions: PostgreSQL session advisory locks, all held on ONE
/// long-lived connection per instance, whatever the number of subscriptions.
///
/// Correctness: a session lock lives exactly as long as its connection. If that connection dies
/// (server restart, backend terminated, network cut), the server frees every lock it held and a
/// standby elsewhere may take them over at once, while this process may still be handling a
/// batch. So: (1) a watchdog checks the connection every ProbeInterval; a check that fails or is
/// not answered within ProbeTimeout marks every lease lost (its <see cref="LeaderLease.Lost"/>
/// token is cancelled, the handlers' tokens are linked to it, the subscriptions stop); the client
/// gives up on doubt, before the server may even have noticed. (2) A new holder waits
/// <see cref="LeaderLockOptions.TakeoverGrace"/> before handling, longer than that check window.
/// (3) Checkpoints are saved through the lock connection itself: a save succeeds only while the
/// session that holds the lock is alive, so a stale leader can never move a checkpoint, and at
/// worst repeats effects of one batch, which handlers must tolerate anyway (they are idempotent).
/// After a loss the next acquisition opens a new connection.
/// </summary>
public sealed class LeaderLocks(NpgsqlDataSource dataSource, LeaderLockOptions? options = null) : IAsyncDisposable
{
    /// <summary>The application name of the lock connection (visible in pg_stat_activity).</summary>
    public const string ApplicationName = "auditpipeline leader locks";

    private readonly LeaderLockOptions _options = options ?? new LeaderLockOptions();
    // One command at a time on the lock connection: acquisitions, releases, checkpoint saves, checks.
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _disposed = new();
    private NpgsqlConnection? _connection;
    private CancellationTokenSource _lost = new();
    private Task _watching = Task.CompletedTask;

    /// <summary>Waits until this instance holds the lock of <paramref name="name"/>, retrying every <paramref name="retry"/>.</summary>
    public async Task<LeaderLease> AcquireAsync(string name, TimeSpan retry, CancellationToken ct)
    {
        while (true)
        {
            if (await TryAcquireAsync(name, ct) is { } lease)
            {
                if (_options.TakeoverGrace > TimeSpan.Zero)
                {
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct, lease.Lost);
                    await Task.Delay(_options.TakeoverGrace, wait.Token);
                }
                return lease;
            }
            await Task.Delay(retry, ct);
        }
    }

    private async Task<LeaderLease?> TryAcquireAsync(string name, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        var generation = _lost;
        try
        {
            var connection = await ConnectionAsync(ct);
            await using var cmd = new NpgsqlCommand(StoreSql.SubscriptionTryLock, connection);
            cmd.Parameters.AddWithValue("name", name);
            return (bool)(await cmd.ExecuteScalarAsync(ct))! ? new LeaderLease(this, name, _lost.Token) : null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            await BreakAsync(generation);
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Saves a checkpoint on the lock connection, so only the holder of the lease can move it.</summary>
    internal async Task SaveCheckpointAsync(LeaderLease lease, long position, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        var generation = _lost;
        try
        {
            lease.ThrowIfLost();
            await using var cmd = new NpgsqlCommand(StoreSql.SaveCheckpoint, _connection);
            cmd.Parameters.AddWithValue("name", lease.Name);
            cmd.Parameters.AddWithValue("position", position);
            await cmd.ExecuteNonQueryAsync(ct);
        }
        catch (Exception ex) when (ex is not LeadershipLostException && (ex is not OperationCanceledException || !ct.IsCancellationRequested))
        {
            await BreakAsync(generation);
            throw new LeadershipLostException(lease.Name, ex);
        }
        finally
        {
            _gate.Release();
        }
    }

    internal async Task ReleaseAsync(LeaderLease lease)
    {
        await _gate.WaitAsync(CancellationToken.None);
        var generation = _lost;
        try
        {
            if (lease.Lost.IsCancellationRequested || _connection is null)
            {
                return; // the lock went with its connection
            }
            // Released at once so a standby takes over now, not when this connection closes.
            await using var cmd = new NpgsqlCommand(StoreSql.SubscriptionUnlock, _connection);
            cmd.Parameters.AddWithValue("name", lease.Name);
            await cmd.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            await BreakAsync(generation);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<NpgsqlConnection> ConnectionAsync(CancellationToken ct)
    {
        if (_connection is { } open)
        {
            return open;
        }
        var connection = await dataSource.OpenConnectionAsync(ct);
        await using (var name = new NpgsqlCommand(StoreSql.SubscriptionLockConnection, connection))
        {
            name.Parameters.AddWithValue("name", ApplicationName);
            await name.ExecuteNonQueryAsync(ct);
        }
        _connection = connection;
        _watching = WatchAsync(connection, _lost, _disposed.Token);
        return connection;
    }

    /// <summary>Checks the connection until it breaks or this object is disposed.</summary>
    private async Task WatchAsync(NpgsqlConnection connection, CancellationTokenSource lost, CancellationToken stop)
    {
        try
        {
            while (!lost.IsCancellationRequested)
            {
                await Task.Delay(_options.ProbeInterval, stop);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
                timeout.CancelAfter(_options.ProbeTimeout);
                var probe = ProbeAsync(connection, lost, timeout.Token);
                // Judged by the deadline, not by when the I/O gives up: the lease must end on time.
                if (await Task.WhenAny(probe, Task.Delay(_options.ProbeTimeout, stop)) != probe || !await probe)
                {
                    _ = probe.ContinueWith(t => t.Exception, TaskScheduler.Default);
                    await lost.CancelAsync();
                    await _gate.WaitAsync(CancellationToken.None);
                    try
                    {
                        await BreakAsync(lost);
                    }
                    finally
                    {
                        _gate.Release();
                    }
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private async Task<bool> ProbeAsync(NpgsqlConnection connection, CancellationTokenSource lost, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            if (lost.IsCancellationRequested || !ReferenceEquals(connection, _connection))
            {
                return false;
            }
            await using var cmd = new NpgsqlCommand(StoreSql.SubscriptionLockProbe, connection);
            await cmd.ExecuteScalarAsync(ct);
            return true;
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or InvalidOperationException or TimeoutException)
        {
            return false;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Every lease of that connection is lost; the next acquisition opens a new one. Called holding the gate.</summary>
    private async Task BreakAsync(CancellationTokenSource generation)
    {
        if (!ReferenceEquals(generation, _lost))
        {
            return;
        }
        await generation.CancelAsync();
        var connection = _connection;
        _connection = null;
        _lost = new CancellationTokenSource();
        if (connection is not null)
        {
            await connection.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _disposed.CancelAsync();
        await _watching;
        await _lost.CancelAsync();
        if (_connection is { } connection)
        {
            await connection.DisposeAsync();
        }
        _disposed.Dispose();
        _gate.Dispose();
    }
}

/// <summary>This instance holds the leader lock of one subscription until the lease is disposed or <see cref="Lost"/> fires.</summary>
public sealed class LeaderLease : IAsyncDisposable
{
    private readonly LeaderLocks _locks;

    internal LeaderLease(LeaderLocks locks, string name, CancellationToken lost)
    {
        _locks = locks;
        Name = name;
        Lost = lost;
    }

    public string Name { get; }

    /// <summary>Cancelled when the lock connection is found dead: stop handling at once.</summary>
    public CancellationToken Lost { get; }

    public void ThrowIfLost()
    {
        if (Lost.IsCancellationRequested)
        {
            throw new LeadershipLostException(Name);
        }
    }

    public Task SaveCheckpointAsync(long position, CancellationToken ct) => _locks.SaveCheckpointAsync(this, position, ct);

    public async ValueTask DisposeAsync() => await _locks.ReleaseAsync(this);
}

/// <summary>The lock connection of a subscription's leader broke: another instance may lead now.</summary>
public sealed class LeadershipLostException(string name, Exception? inner = null)
    : Exception($"Subscription {name} lost its leader lock (the lock connection broke); it stops and stands by again", inner);
