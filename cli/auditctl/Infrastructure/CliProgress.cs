using System.Diagnostics;
using System.Globalization;
using AuditPipeline.Integrity.Store;
using Spectre.Console;

namespace AuditPipeline.Cli.Infrastructure;

/// <summary>
/// Progress of long work, always on stderr so stdout keeps only the result: a Spectre progress bar
/// (percent when the total is known, else a spinner with a count) when stderr is a terminal, and
/// plain lines at most twice a second when it is redirected (logs, scripts and tests read those).
/// Safe to report from any thread.
/// </summary>
internal abstract class CliProgress(string name, string unit) : IProgress<ExportProgress>, IProgress<long>
{
    private long _done;

    protected string Name { get; } = name;
    protected Stopwatch Clock { get; } = Stopwatch.StartNew();

    /// <summary>The amount the work will reach, when known (shown as a bar with percent).</summary>
    public long? Total { get; set; }

    /// <summary>More to say after the count, e.g. "12000 events sent".</summary>
    public string? Detail { get; set; }

    public long Done => Interlocked.Read(ref _done);

    public void Report(long done)
    {
        Interlocked.Exchange(ref _done, done);
        Show();
    }

    void IProgress<long>.Report(long value) => Report(value);

    void IProgress<ExportProgress>.Report(ExportProgress value)
    {
        Total = value.Total > 0 ? value.Total : Total;
        Report(value.Events);
    }

    protected abstract void Show();

    protected string Describe() => Total is > 0 and var total
        ? string.Create(CultureInfo.InvariantCulture, $"{Done}/{total} {unit} ({100.0 * Done / total:0}%){(Detail is null ? "" : ", " + Detail)}")
        : string.Create(CultureInfo.InvariantCulture, $"{Done} {unit}{(Detail is null ? "" : ", " + Detail)}");

    /// <summary>Runs the work with progress; <paramref name="knownTotal"/> chooses a bar over a spinner.</summary>
    public static async Task<T> RunAsync<T>(string name, string unit, bool knownTotal, Func<CliProgress, Task<T>> work)
    {
        if (Console.IsErrorRedirected)
        {
            return await work(new Lines(name, unit));
        }
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        ProgressColumn[] columns = knownTotal
            ? [new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn()]
            : [new SpinnerColumn(), new TaskDescriptionColumn { Alignment = Justify.Left }, new ElapsedTimeColumn()];
        // AutoClear: once done the bar goes, and the result line on stdout stands alone.
        return await console.Progress().AutoClear(true).Columns(columns).StartAsync(async context =>
        {
            var task = context.AddTask(Markup.Escape(name));
            task.IsIndeterminate = true;
            var bar = new Bar(name, unit, task);
            var result = await work(bar);
            task.StopTask();
            return result;
        });
    }

    private sealed class Lines(string name, string unit) : CliProgress(name, unit)
    {
        private readonly Lock _gate = new();
        private TimeSpan _last = TimeSpan.FromDays(-1);

        protected override void Show()
        {
            lock (_gate)
            {
                if (Clock.Elapsed - _last < TimeSpan.FromMilliseconds(500))
                {
                    return;
                }
                _last = Clock.Elapsed;
            }
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Name}: {Describe()}, {Clock.Elapsed.TotalSeconds:0}s"));
        }
    }

    private sealed class Bar(string name, string unit, ProgressTask task) : CliProgress(name, unit)
    {
        protected override void Show()
        {
            if (Total is > 0 and var total)
            {
                task.IsIndeterminate = false;
                task.MaxValue = total;
                task.Value = Math.Min(Done, total);
            }
            task.Description = Markup.Escape($"{Name}: {Describe()}");
        }
    }
}
