using System.Runtime.ExceptionServices;
using Polly;

namespace AuditPipeline.Resilience;

/// <summary>
/// Keeps long-running work going (a subscription, a tail loop): when a run fails it is started
/// again after a backoff that grows while the runs keep failing without progress, and starts
/// again from the first delay once a run made progress (it calls the <c>progressed</c> callback,
/// e.g. after a batch was handled). Without that reset, a service that once waited out a long
/// outage would wait the maximum after every later, unrelated failure.
/// A run that returns ends the loop; cancellation ends it with <see cref="OperationCanceledException"/>.
/// </summary>
public sealed class RestartPolicy(Backoff backoff, Action<RetryWait> onWait, TimeProvider? clock = null)
{
    // OperationCanceledException is how the caller's token stops the work; a run that wants a
    // restart after some other cancellation wraps it in another exception.
    private readonly ResiliencePipeline _pipeline =
        RetryPolicies.Create(backoff, ex => ex is not OperationCanceledException, onWait, clock: clock);

    public async Task RunAsync(Func<Action, CancellationToken, Task> run, CancellationToken ct)
    {
        ExceptionDispatchInfo? failedAfterProgress = null;
        do
        {
            // Polly counts attempts within one execution, so each stretch of failures without
            // progress is one execution. A failure after progress ends the execution and is thrown
            // again as the first attempt of the next one: Polly reports it and waits the first delay.
            failedAfterProgress = await _pipeline.ExecuteAsync(async ValueTask<ExceptionDispatchInfo?> (token) =>
            {
                if (failedAfterProgress is { } earlier)
                {
                    failedAfterProgress = null;
                    earlier.Throw();
                }
                var progressed = false;
                try
                {
                    await run(() => progressed = true, token);
                    return null;
                }
                catch (Exception ex) when (progressed && ex is not OperationCanceledException)
                {
                    return ExceptionDispatchInfo.Capture(ex);
                }
            }, ct);
        }
        while (failedAfterProgress is not null);
    }
}
