using Pronto.Batch;
using Pronto.Core.Inference;

namespace Pronto.Server.Jobs;

/// <summary>What one run did.</summary>
public sealed record JobOutcome(long Rows, long Errors, TimeSpan EngineCpuTime, bool Failed, string? Message);

/// <summary>Runs one scheduled job's work; the server's is <see cref="BatchJobRunner"/>, tests put a fake in its place.</summary>
public interface IJobRunner
{
    Task<JobOutcome> RunAsync(ScheduledJobOptions job, DateTimeOffset scheduled, bool resume, CancellationToken cancellationToken);
}

/// <summary>A scheduled run is a <c>pronto batch</c> job over the server's own <see cref="InferenceService"/>.</summary>
internal sealed class BatchJobRunner(InferenceService service) : IJobRunner
{
    public async Task<JobOutcome> RunAsync(ScheduledJobOptions job, DateTimeOffset scheduled, bool resume, CancellationToken cancellationToken)
    {
        var options = job.ToBatchOptions(scheduled, resume);
        // The batch pipeline runs synchronous engine calls on its own tasks: keep them off the caller's thread.
        var result = await Task.Run(() => BatchJob.RunAsync(service, options, cancellationToken: cancellationToken), cancellationToken);
        return new JobOutcome(
            result.Rows,
            result.Errors,
            result.EngineCpuTime,
            result.ErrorRateExceeded,
            result.ErrorRateExceeded ? $"stopped: failed rows exceeded --max-error-rate {job.MaxErrorRate}" : null);
    }
}
