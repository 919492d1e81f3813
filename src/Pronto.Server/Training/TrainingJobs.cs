using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Repository;

namespace Pronto.Server.Training;

/// <summary>
/// One training job: queued, running, then succeeded (promoted or not), failed with the trainer's message, or
/// cancelled (DELETE before it wrote anything).
/// </summary>
public sealed class TrainingJob
{
    internal TrainingJob(string id, TrainingRequest request, DateTimeOffset submitted, string? upload)
    {
        Id = id;
        Request = request;
        Submitted = submitted;
        Upload = upload;
    }

    /// <summary>The folder holding the job's uploaded data (deleted when the job ends), or null for a server path.</summary>
    internal string? Upload { get; }

    internal CancellationTokenSource Cancellation { get; } = new();

    public string Id { get; }

    public TrainingRequest Request { get; }

    public DateTimeOffset Submitted { get; }

    public string Status { get; internal set; } = "queued";

    public DateTimeOffset? Started { get; internal set; }

    public DateTimeOffset? Ended { get; internal set; }

    public TrainingOutcome? Outcome { get; internal set; }

    public string? Error { get; internal set; }

    /// <summary>The trainer's last word on how far it is; null until it says.</summary>
    public TrainingProgress? Progress { get; internal set; }

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

    /// <summary>
    /// Queues <paramref name="request"/> and returns its job at once; the work runs in the background.
    /// <paramref name="upload"/>: a folder of uploaded data the job owns (deleted when it ends).
    /// </summary>
    public TrainingJob Submit(TrainingRequest request, string? upload = null)
    {
        if (_trainer is null)
        {
            ProntoErrors.Unsupported("this server has no model trainer (the server library ships none; `pronto serve` registers one)");
        }

        var id = string.Create(CultureInfo.InvariantCulture, $"{request.Kind}-{request.Model}-{Interlocked.Increment(ref _next)}");
        var job = new TrainingJob(id, request, time.GetUtcNow(), upload);
        _jobs[id] = job;
        _ = Task.Run(() => RunAsync(job));
        return job;
    }

    /// <summary>
    /// Cancels a queued or running job: a queued one never starts; a running one stops at the trainer's next
    /// check (between embedding batches, before the version is written) and writes nothing. A job that has ended is
    /// a conflict. Returns the job; <see cref="TrainingJob.Completion"/> tells when it has stopped.
    /// </summary>
    public TrainingJob Cancel(string id)
    {
        var job = Find(id) ?? throw new ProntoException(ErrorCode.NotFound, $"unknown training job '{id}'");
        if (job.Completion.IsCompleted)
        {
            throw new ProntoException(ErrorCode.Conflict, $"training job '{id}' has already ended ({job.Status})");
        }

        job.Cancellation.Cancel();
        return job;
    }

    private async Task RunAsync(TrainingJob job)
    {
        var token = job.Cancellation.Token;
        try
        {
            await _one.WaitAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            End(job, "cancelled");
            return;
        }

        try
        {
            job.Status = "running";
            job.Started = time.GetUtcNow();
            var outcome = await _trainer!.TrainAsync(job.Request, service, p => job.Progress = p, token).ConfigureAwait(false);
            if (outcome.Promoted)
            {
                repository.Load(job.Request.Model);
            }

            job.Outcome = outcome;
            job.Status = "succeeded";
            logger.LogInformation("training job {Job}: version {Version} {Decision}: {Reason}", job.Id, outcome.Version, outcome.Promoted ? "promoted" : "not promoted", outcome.Reason);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            job.Status = "cancelled";
            logger.LogInformation("training job {Job} cancelled", job.Id);
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
            _one.Release();
            End(job, job.Status);
        }
    }

    private void End(TrainingJob job, string status)
    {
        job.Status = status;
        job.Ended = time.GetUtcNow();
        if (job.Upload is { } upload)
        {
            try
            {
                Directory.Delete(upload, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                logger.LogWarning(e, "training job {Job}: could not delete its upload {Folder}", job.Id, upload);
            }
        }

        job._done.TrySetResult();
    }
}
