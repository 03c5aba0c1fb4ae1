using System.Globalization;
using System.Text;
using AuditPipeline.Testing;

namespace AuditPipeline.Soak;

/// <summary>
/// One of our services as a real process that the soak SIGKILLs and starts again. A process that
/// exits without being killed is a finding (a service that gave up); it is recorded with its last
/// output and started again so the soak goes on. Every incarnation's output is kept for the log.
/// </summary>
public sealed class ServiceProcess(string name, Func<ChildProcess> start) : IAsyncDisposable
{
    private const int TailChars = 4_000;
    private readonly Lock _lock = new();
    private readonly List<string> _unexpectedExits = [];
    private readonly StringBuilder _history = new();
    private ChildProcess? _current;
    private DateTimeOffset _startedAt;
    private int _incarnation;

    public string Name { get; } = name;

    /// <summary>Each entry: when and with what last output the process exited on its own.</summary>
    public IReadOnlyList<string> UnexpectedExits { get { lock (_lock) { return [.. _unexpectedExits]; } } }

    public void Start()
    {
        lock (_lock)
        {
            _current = start();
            _startedAt = DateTimeOffset.UtcNow;
            _incarnation++;
        }
    }

    /// <summary>SIGKILL (nothing flushed, nothing committed), a pause, then a new process.</summary>
    public async Task KillAndRestartAsync(TimeSpan downFor, CancellationToken ct)
    {
        ChildProcess? current;
        lock (_lock)
        {
            (current, _current) = (_current, null);
        }
        if (current is not null)
        {
            current.Kill();
            Record(current, "SIGKILLed");
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
            _current = null;
        }
        var output = exited.Output;
        lock (_lock)
        {
            _unexpectedExits.Add($"{Name} exited on its own at {DateTimeOffset.UtcNow:HH:mm:ss}; its last output:\n{Tail(output)}");
        }
        Record(exited, "exited on its own");
        await exited.DisposeAsync();
        Start();
    }

    /// <summary>Every incarnation's output so far, each headed by when it started and how it ended.</summary>
    public string History()
    {
        lock (_lock)
        {
            var running = _current is { } current
                ? $"== {Name} #{_incarnation}, started {_startedAt:HH:mm:ss.fff}, still running\n{current.Output}\n"
                : "";
            return _history + running;
        }
    }

    public async ValueTask DisposeAsync()
    {
        ChildProcess? current;
        lock (_lock)
        {
            (current, _current) = (_current, null);
        }
        if (current is not null)
        {
            await current.StopAsync();
            await current.DisposeAsync();
        }
    }

    private void Record(ChildProcess process, string end)
    {
        var output = process.Output;
        lock (_lock)
        {
            _history.Append(CultureInfo.InvariantCulture, $"== {Name} #{_incarnation}, started {_startedAt:HH:mm:ss.fff}, {end} {DateTimeOffset.UtcNow:HH:mm:ss.fff}\n{output}\n");
        }
    }

    private static string Tail(string output) => output.Length <= TailChars ? output : output[^TailChars..];
}
