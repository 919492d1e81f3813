using Pronto.Batch;
using Pronto.Core.Inference;
using Pronto.Sql;

namespace Pronto.Server.Jobs;

/// <summary>What one run did.</summary>
public sealed record JobOutcome(long Rows, long Errors, TimeSpan EngineCpuTime, bool Failed, string? Message);

/// <summary>Runs one scheduled job's work; the server's is <see cref="ServerJobRunner"/>, tests put a fake in its place.</summary>
public interface IJobRunner
{
    Task<JobOutcome> RunAsync(ScheduledJobOptions job, DateTimeOffset scheduled, bool resume, CancellationToken cancellationToken);
}

/// <summary>
/// The server's runs, over its own <see cref="InferenceService"/>: a batch job is a <c>pronto batch</c> run, a SQL job
/// its statements on a fresh DuckDB connection with Pronto's SQL functions (<see cref="SqlScript"/>).
/// </summary>
internal sealed class ServerJobRunner(InferenceService service) : IJobRunner
{
    public Task<JobOutcome> RunAsync(ScheduledJobOptions job, DateTimeOffset scheduled, bool resume, CancellationToken cancellationToken) =>
        job.IsSql ? RunSqlAsync(job, scheduled, cancellationToken) : RunBatchAsync(job, scheduled, resume, cancellationToken);

    private async Task<JobOutcome> RunBatchAsync(ScheduledJobOptions job, DateTimeOffset scheduled, bool resume, CancellationToken cancellationToken)
    {
        var options = job.ToBatchOptions(scheduled, resume);
        // The batch pipeline runs synchronous engine calls on its own tasks: keep them off the caller's thread.
        var result = await Task.Run(() => BatchJob.RunAsync(service, options, cancellationToken: cancellationToken), cancellationToken);
        return new JobOutcome(
            result.Rows,
            result.Errors,
            result.EngineCpuTime,
            result.ErrorRateExceeded,
            result.ErrorRateExceeded ? $"stopped: failed rows exceeded --max-error-rate {options.MaxErrorRate}" : null);
    }

    private async Task<JobOutcome> RunSqlAsync(ScheduledJobOptions job, DateTimeOffset scheduled, CancellationToken cancellationToken)
    {
        // DuckDB runs the statements synchronously (the SQL functions call the engine on its worker threads).
        var result = await Task.Run(() => SqlScript.Run(service, job.SqlOf(scheduled), job.Database, cancellationToken), cancellationToken);
        return new JobOutcome(result.RowsChanged, 0, result.EngineCpuTime, result.Failure is not null, result.Failure?.Message);
    }
}
