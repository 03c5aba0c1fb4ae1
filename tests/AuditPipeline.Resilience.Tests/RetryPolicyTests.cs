using AuditPipeline.Resilience;
using Xunit;

namespace AuditPipeline.Resilience.Tests;

public sealed class RetryPolicyTests
{
    private static readonly Backoff Small = new(TimeSpan.FromMilliseconds(2), TimeSpan.FromMilliseconds(40));

    [Fact]
    public async Task Restart_delay_grows_while_runs_fail_and_starts_again_from_the_first_after_a_run_that_made_progress()
    {
        var waits = new List<RetryWait>();
        var runs = 0;
        var policy = new RestartPolicy(Small, waits.Add);

        await policy.RunAsync((progressed, _) =>
        {
            runs++;
            if (runs == 4)
            {
                progressed(); // a healthy run: handled something, then failed
            }
            return runs switch
            {
                6 => Task.CompletedTask,
                _ => Task.FromException(new InvalidOperationException($"run {runs} failed")),
            };
        }, default);

        Assert.Equal(6, runs);
        Assert.Equal([0, 1, 2, 0, 1], waits.Select(w => w.Attempt));
        Assert.Equal("run 4 failed", waits[3].Error.Message);
        // The wait after the healthy run is a first wait again, not the one after three failures.
        Assert.True(waits[3].Delay < waits[2].Delay * 2, $"after progress waited {waits[3].Delay}, before it {waits[2].Delay}");
        Assert.All(waits, w => Assert.InRange(w.Delay, TimeSpan.Zero, Small.Max));
    }

    [Fact]
    public async Task Retry_waits_never_exceed_the_configured_maximum_and_each_call_starts_from_the_first_attempt()
    {
        var waits = new List<RetryWait>();
        var pipeline = RetryPolicies.Create(Small, ex => ex is TimeoutException, waits.Add);
        for (var call = 0; call < 2; call++)
        {
            var attempts = 0;
            var result = await pipeline.ExecuteAsync((CancellationToken _) => ++attempts < 8 ? throw new TimeoutException("down") : ValueTask.FromResult(attempts), CancellationToken.None);
            Assert.Equal(8, result);
        }

        Assert.Equal(14, waits.Count);
        Assert.Equal(Enumerable.Range(0, 7).Concat(Enumerable.Range(0, 7)), waits.Select(w => w.Attempt));
        Assert.All(waits, w => Assert.InRange(w.Delay, TimeSpan.Zero, Small.Max));
        Assert.Contains(waits, w => w.Delay == Small.Max); // the cap is reached, and held
    }

    [Fact]
    public async Task Failures_the_policy_does_not_accept_are_thrown_without_a_wait()
    {
        var waits = new List<RetryWait>();
        var pipeline = RetryPolicies.Create(Small, ex => ex is TimeoutException, waits.Add);

        await Assert.ThrowsAsync<FormatException>(async () => await pipeline.ExecuteAsync<int>((CancellationToken _) => throw new FormatException("bad"), CancellationToken.None));
        Assert.Empty(waits);
    }

    [Fact]
    public async Task Cancellation_ends_a_restart_wait_at_once()
    {
        using var stop = new CancellationTokenSource();
        var policy = new RestartPolicy(new Backoff(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10)), _ => stop.Cancel());

        var running = policy.RunAsync((_, _) => Task.FromException(new InvalidOperationException("down")), stop.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running.WaitAsync(TimeSpan.FromSeconds(30)));
    }
}
