using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Repository;

namespace Pronto.Server.Training;

/// <summary>One training job: queued, running, then succeeded (promoted or not) or failed with the trainer's message.</summary>
public sealed class TrainingJob
{
    internal TrainingJob(string id, TrainingRequest request, DateTimeOffset submitted)
    {
        Id = id;
        Request = request;
        Submitted = submitted;
    }

    public string Id { get; }

    public TrainingRequest Request { get; }

    public DateTimeOffset Submitted { get; }

    public string Status { get; internal set; } = "queued";

    public DateTimeOffset? Started { get; internal set; }

    public DateTimeOffset? Ended { get; internal set; }

    public TrainingOutcome? Outcome { get; internal set; }

    public string? Error { get; internal set; }

    /// <summary>Completes when the job has ended (either way); the API's <c>?wait=true</c> awaits it.</summary>
    public Task Completion => _done.Task;

    internal readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// The server's training jobs: one runs at a time (training shares the cores with serving), in submission order. A
/// job that fails (bad data, an unknown base model) fails alone: nothing is written, the server serves on. A promoted
/// version is loaded at once, so the model serves it when the job ends. Jobs are kept in memory for the process's life.
/// </summary>
public sealed class TrainingJobs(IEnumerable<IModelTrainer> trainers, InferenceService service, ModelRepository repository, TimeProvider time, ILogger<TrainingJobs> logger)
{
    private readonly IModelTrainer? _trainer = trainers.LastOrDefault();
    private readonly ConcurrentDictionary<string, TrainingJob> _jobs = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _one = new(1, 1);
    private long _next;

    public IReadOnlyList<TrainingJob> Jobs => [.. _jobs.Values.OrderBy(j => j.Submitted).ThenBy(j => j.Id, StringComparer.Ordinal)];

    public TrainingJob? Find(string id) => _jobs.GetValueOrDefault(id);

    /// <summary>Queues <paramref name="request"/> and returns its job at once; the work runs in the background.</summary>
    public TrainingJob Submit(TrainingRequest request)
    {
        if (_trainer is null)
        {
            ProntoErrors.Unsupported("this server has no model trainer (the server library ships none; `pronto serve` registers one)");
        }

        var id = string.Create(CultureInfo.InvariantCulture, $"{request.Kind}-{request.Model}-{Interlocked.Increment(ref _next)}");
        var job = new TrainingJob(id, request, time.GetUtcNow());
        _jobs[id] = job;
        _ = Task.Run(() => RunAsync(job));
        return job;
    }

    private async Task RunAsync(TrainingJob job)
    {
        await _one.WaitAsync().ConfigureAwait(false);
        try
        {
            job.Status = "running";
            job.Started = time.GetUtcNow();
            var outcome = await _trainer!.TrainAsync(job.Request, service, CancellationToken.None).ConfigureAwait(false);
            if (outcome.Promoted)
            {
                repository.Load(job.Request.Model);
            }

            job.Outcome = outcome;
            job.Status = "succeeded";
            logger.LogInformation("training job {Job}: version {Version} {Decision}: {Reason}", job.Id, outcome.Version, outcome.Promoted ? "promoted" : "not promoted", outcome.Reason);
        }
        catch (ProntoException e)
        {
            job.Error = e.Message;
            job.Status = "failed";
            logger.LogWarning("training job {Job} failed: {Message}", job.Id, e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException)
        {
            job.Error = e.Message;
            job.Status = "failed";
            logger.LogWarning(e, "training job {Job} failed", job.Id);
        }
        finally
        {
            job.Ended = time.GetUtcNow();
            _one.Release();
            job._done.TrySetResult();
        }
    }
}
