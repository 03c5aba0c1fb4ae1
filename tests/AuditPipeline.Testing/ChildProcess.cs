using System.Collections.Concurrent;
using System.Diagnostics;

namespace AuditPipeline.Testing;

/// <summary>A real process of ours (ingest, auditctl) with its output captured.</summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentQueue<string> _stdout = new();

    private ChildProcess(Process process) => _process = process;

    public static ChildProcess StartDotnet(string dll, IReadOnlyDictionary<string, string> env, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        foreach (var (k, v) in env)
        {
            info.Environment[k] = v;
        }
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildProcess(process);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { child._output.Enqueue(e.Data); child._stdout.Enqueue(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { child._output.Enqueue(e.Data); } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    public static Task<(int ExitCode, string Output)> RunDotnetAsync(string dll, IReadOnlyDictionary<string, string> env, params string[] args) =>
        RunDotnetAsync(dll, env, TimeSpan.FromMinutes(3), args);

    public static async Task<(int ExitCode, string Output)> RunDotnetAsync(string dll, IReadOnlyDictionary<string, string> env, TimeSpan limit, params string[] args)
    {
        await using var child = StartDotnet(dll, env, args);
        using var timeout = new CancellationTokenSource(limit);
        await child._process.WaitForExitAsync(timeout.Token);
        child._process.WaitForExit(); // drains the output readers
        return (child._process.ExitCode, child.Output);
    }

    /// <summary>
    /// Runs to the end and keeps stdout apart: for output a script reads (--json), which must
    /// parse without the progress and messages on stderr.
    /// </summary>
    public static async Task<(int ExitCode, string StdOut, string Output)> RunDotnetWithStdOutAsync(string dll, IReadOnlyDictionary<string, string> env, params string[] args)
    {
        await using var child = StartDotnet(dll, env, args);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await child._process.WaitForExitAsync(timeout.Token);
        child._process.WaitForExit(); // drains the output readers
        return (child._process.ExitCode, string.Join('\n', child._stdout), child.Output);
    }

    public string Output => string.Join('\n', _output);
    public bool HasExited => _process.HasExited;

    /// <summary>The exit code, once <see cref="HasExited"/> (waits for the output to drain).</summary>
    public int ExitCode
    {
        get
        {
            _process.WaitForExit();
            return _process.ExitCode;
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, nothing is flushed or committed.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>SIGTERM and wait: the graceful path.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited)
        {
            return;
        }
        using (var kill = Process.Start("kill", $"-TERM {_process.Id}"))
        {
            await kill.WaitForExitAsync();
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Kill();
        }
        await Task.CompletedTask;
        _process.Dispose();
    }
}
