using AuditPipeline.Testing;

namespace AuditPipeline.Soak;

/// <summary>
/// One of our services as a real process that the soak SIGKILLs and starts again. A process that
/// exits without being killed is a finding (a service that gave up); it is recorded with its last
/// output and started again so the soak goes on.
/// </summary>
public sealed class ServiceProcess(string name, Func<ChildProcess> start) : IAsyncDisposable
{
    private const int TailChars = 6_000;
    private readonly Lock _lock = new();
    private readonly List<string> _unexpectedExits = [];
    private ChildProcess? _current;
    private string _previousOutput = "";

    public string Name { get; } = name;
    public int Kills { get; private set; }

    /// <summary>Each entry: when and with what last output the process exited on its own.</summary>
    public IReadOnlyList<string> UnexpectedExits { get { lock (_lock) { return [.. _unexpectedExits]; } } }

    public void Start()
    {
        lock (_lock)
        {
            _current = start();
        }
    }

    /// <summary>SIGKILL (nothing flushed, nothing committed), a pause, then a new process.</summary>
    public async Task KillAndRestartAsync(TimeSpan downFor, CancellationToken ct)
    {
        ChildProcess? current;
        lock (_lock)
        {
            (current, _current) = (_current, null);
            Kills++;
        }
        if (current is not null)
        {
            current.Kill();
            _previousOutput = Tail(current.Output);
            await current.DisposeAsync();
        }
        await Task.Delay(downFor, ct);
        Start();
    }

    /// <summary>Restarts a process that exited on its own and records that it did.</summary>
    public async Task RestartIfExitedAsync()
    {
        ChildProcess exited;
        lock (_lock)
        {
            if (_current is not { HasExited: true } current)
            {
                return;
            }
            exited = current;
            _unexpectedExits.Add($"{Name} exited on its own at {DateTimeOffset.UtcNow:HH:mm:ss}; its last output:\n{Tail(exited.Output)}");
            _previousOutput = Tail(exited.Output);
            _current = start();
        }
        await exited.DisposeAsync();
    }

    /// <summary>The current process's output and the end of the one before it, for failure messages.</summary>
    public string Describe()
    {
        lock (_lock)
        {
            return $"--- {Name}, before the last restart:\n{_previousOutput}\n--- {Name}, now:\n{Tail(_current?.Output ?? "(not running)")}";
        }
    }

    public async ValueTask DisposeAsync()
    {
        ChildProcess? current;
        lock (_lock)
        {
            current = _current;
            _current = null;
        }
        if (current is not null)
        {
            await current.StopAsync();
            await current.DisposeAsync();
        }
    }

    private static string Tail(string output) => output.Length <= TailChars ? output : output[^TailChars..];
}
