using Pronto.Server.Jobs;

namespace Pronto.Server.Tests.Jobs;

/// <summary>Each run signals <see cref="Started"/>, then waits for the test's <see cref="Finish"/> (or the stop).</summary>
internal sealed class GatedRunner : IJobRunner
{
    private TaskCompletionSource<JobOutcome> _gate = New<JobOutcome>();

    public TaskCompletionSource Started { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public List<(DateTimeOffset Scheduled, bool Resume)> Calls { get; } = [];

    /// <summary>The definition each call ran with, in the order of <see cref="Calls"/>.</summary>
    public List<ScheduledJobOptions> Jobs { get; } = [];

    public async Task<JobOutcome> RunAsync(ScheduledJobOptions job, DateTimeOffset scheduled, bool resume, CancellationToken cancellationToken)
    {
        lock (Calls)
        {
            Calls.Add((scheduled, resume));
            Jobs.Add(job);
        }

        var gate = _gate;
        Started.TrySetResult();
        return await gate.Task.WaitAsync(cancellationToken);
    }

    public void Finish(JobOutcome outcome) => _gate.TrySetResult(outcome);

    public void Fail(Exception e) => _gate.TrySetException(e);

    public void Reset()
    {
        _gate = New<JobOutcome>();
        Started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static TaskCompletionSource<T> New<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
