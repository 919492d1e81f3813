using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Pronto.Server.Jobs;

/// <summary>
/// Runs the scheduled jobs on <see cref="TimeProvider"/>'s clock: one timer per job, set to its next cron time. At
/// that time the run starts, unless the job's previous run is still going: then the time is recorded as
/// <c>skipped</c>, never doubled. Every change of a run goes to <see cref="JobStore"/> first. At start, a run the
/// history shows as running (the process died) is marked <c>interrupted</c>, and the latest interrupted run of each
/// job is resumed with the batch job's own <c>--resume</c> (its committed parts are kept, exactly once); a graceful
/// stop cancels running jobs and records them <c>interrupted</c> likewise. Missed times while the server was down
/// are not run; the schedule continues from the start.
/// </summary>
public sealed class JobScheduler : IHostedService, IDisposable
{
    private readonly IReadOnlyList<ScheduledJobOptions> _jobs;
    private readonly JobStore _store;
    private readonly IJobRunner _runner;
    private readonly TimeProvider _time;
    private readonly double _pricePerCpuHour;
    private readonly ILogger<JobScheduler> _logger;
    private readonly Dictionary<string, JobState> _states = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>The longest one timer waits before the scheduler looks again.</summary>
    internal static readonly TimeSpan LongestWait = TimeSpan.FromDays(1);

    public JobScheduler(ProntoServerOptions options, JobStore store, IJobRunner runner, TimeProvider time, ILogger<JobScheduler> logger)
    {
        _jobs = options.Jobs;
        _store = store;
        _runner = runner;
        _time = time;
        _pricePerCpuHour = options.PricePerCpuHour;
        _logger = logger;
        foreach (var job in _jobs)
        {
            _states[job.Name] = new JobState(job);
        }
    }

    public IReadOnlyList<ScheduledJobOptions> Jobs => _jobs;

    public JobStore Store => _store;

    /// <summary>The job's next scheduled time, or null (unknown job, or a schedule with no more times).</summary>
    public DateTimeOffset? NextRun(string job)
    {
        if (!_states.TryGetValue(job, out var state))
        {
            return null;
        }

        lock (state)
        {
            return state.Next;
        }
    }

    /// <summary>The run in progress of <paramref name="job"/> (completed when none): tests await it, the API reports it.</summary>
    public Task Running(string job)
    {
        var state = _states[job];
        lock (state)
        {
            return state.Current ?? Task.CompletedTask;
        }
    }

    /// <summary>Completes once <see cref="Begin"/> has run: interrupted runs restarted and every timer set.</summary>
    public Task Started { get; private set; } = Task.CompletedTask;

    /// <summary>Nothing starts with the host: the server calls <see cref="BeginAfter"/> once its models have loaded.</summary>
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Begins once <paramref name="loading"/> (the server's start-up load) has finished, whatever its outcome.</summary>
    public Task BeginAfter(Task loading) => Started = loading.ContinueWith(_ => Begin(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);

    /// <summary>Marks runs the history shows as running as interrupted, resumes each job's interrupted run, and sets the timers.</summary>
    public void Begin()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        var now = _time.GetUtcNow();
        foreach (var state in _states.Values)
        {
            var runs = _store.RunsOf(state.Job.Name);
            var latest = runs.Count > 0 ? runs[0] : null;
            if (latest?.Status == JobStatus.Running)
            {
                latest = latest with { Status = JobStatus.Interrupted, Ended = now, Message = "the server stopped during the run" };
                _store.Record(latest);
            }

            // A SQL script has no checkpoint to resume from, and running it again could apply an INSERT twice: it stays interrupted.
            if (latest?.Status == JobStatus.Interrupted && !state.Job.IsSql)
            {
                lock (state)
                {
                    StartRun(state, latest.Scheduled, resumes: latest.Id);
                }
            }

            Schedule(state, now);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        var running = new List<Task>();
        foreach (var state in _states.Values)
        {
            lock (state)
            {
                state.Timer?.Dispose();
                state.Timer = null;
                if (state.Current is { } current)
                {
                    running.Add(current);
                }
            }
        }

        await Task.WhenAll(running).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose()
    {
        foreach (var state in _states.Values)
        {
            state.Timer?.Dispose();
        }

        _stopping.Dispose();
    }

    /// <summary>Sets the job's timer to its first time after <paramref name="after"/>.</summary>
    private void Schedule(JobState state, DateTimeOffset after)
    {
        lock (state)
        {
            if (_stopping.IsCancellationRequested)
            {
                return;
            }

            state.Next = state.Job.NextAfter(after);
            Arm(state);
        }
    }

    /// <summary>
    /// Sets the timer toward <see cref="JobState.Next"/>, at most <see cref="LongestWait"/> ahead (a timer cannot wait
    /// 50 days; a yearly schedule re-arms on the way). The caller holds the state's lock.
    /// </summary>
    private void Arm(JobState state)
    {
        if (state.Next is not { } next)
        {
            return;
        }

        var due = next - _time.GetUtcNow();
        var delay = due < TimeSpan.Zero ? TimeSpan.Zero : due > LongestWait ? LongestWait : due;
        if (state.Timer is null)
        {
            state.Timer = _time.CreateTimer(static s => ((Due)s!).Fire(), new Due(this, state), delay, Timeout.InfiniteTimeSpan);
        }
        else
        {
            state.Timer.Change(delay, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnDue(JobState state)
    {
        DateTimeOffset scheduled;
        lock (state)
        {
            if (state.Next is not { } next || _stopping.IsCancellationRequested)
            {
                return;
            }

            if (_time.GetUtcNow() < next)
            {
                // A wait cut to LongestWait, or a timer a little ahead of the wall clock: not due yet.
                Arm(state);
                return;
            }

            scheduled = next;
            if (state.Current is null)
            {
                StartRun(state, scheduled, resumes: null);
            }
            else
            {
                var busy = state.CurrentScheduled.ToString("u", CultureInfo.InvariantCulture);
                _store.Record(new JobRun
                {
                    Id = RunId(state.Job.Name, scheduled),
                    Job = state.Job.Name,
                    Scheduled = scheduled,
                    Status = JobStatus.Skipped,
                    Message = $"the run scheduled at {busy} was still going",
                });
                _logger.LogWarning("job {Job}: skipped {Scheduled}, the run of {Busy} is still going", state.Job.Name, scheduled, busy);
            }
        }

        Schedule(state, scheduled);
    }

    /// <summary>Records the run as running, then starts it; the caller holds the state's lock.</summary>
    private void StartRun(JobState state, DateTimeOffset scheduled, string? resumes)
    {
        var job = state.Job;
        var run = new JobRun
        {
            Id = resumes is null ? RunId(job.Name, scheduled) : resumes + "+resume",
            Job = job.Name,
            Scheduled = scheduled,
            Status = JobStatus.Running,
            Started = _time.GetUtcNow(),
            Output = job.OutputOf(scheduled),
            Resumes = resumes,
        };
        _store.Record(run);
        state.CurrentScheduled = scheduled;
        state.Current = Task.Run(() => ExecuteAsync(state, run));
    }

    private async Task ExecuteAsync(JobState state, JobRun run)
    {
        JobRun end;
        try
        {
            var outcome = await _runner.RunAsync(state.Job, run.Scheduled, resume: run.Resumes is not null, _stopping.Token);
            end = Ended(run, outcome.Failed ? JobStatus.Failed : JobStatus.Succeeded, outcome.Message, outcome);
        }
        catch (Exception) when (_stopping.IsCancellationRequested)
        {
            end = Ended(run, JobStatus.Interrupted, "the server stopped during the run", null);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "job {Job}: the run of {Scheduled} failed", run.Job, run.Scheduled);
            end = Ended(run, JobStatus.Failed, e.Message, null);
        }

        lock (state)
        {
            _store.Record(end);
            state.Current = null;
        }
    }

    private JobRun Ended(JobRun run, string status, string? message, JobOutcome? outcome) => run with
    {
        Status = status,
        Ended = _time.GetUtcNow(),
        Message = message,
        Rows = outcome?.Rows ?? 0,
        Errors = outcome?.Errors ?? 0,
        CostCpuSeconds = outcome?.EngineCpuTime.TotalSeconds ?? 0,
        Cost = _pricePerCpuHour > 0 && outcome is not null ? outcome.EngineCpuTime.TotalHours * _pricePerCpuHour : null,
    };

    private static string RunId(string job, DateTimeOffset scheduled) =>
        $"{job}@{scheduled.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}";

    private sealed class JobState(ScheduledJobOptions job)
    {
        public ScheduledJobOptions Job { get; } = job;

        public DateTimeOffset? Next { get; set; }

        public ITimer? Timer { get; set; }

        public Task? Current { get; set; }

        public DateTimeOffset CurrentScheduled { get; set; }
    }

    private sealed class Due(JobScheduler scheduler, JobState state)
    {
        public void Fire() => scheduler.OnDue(state);
    }
}
