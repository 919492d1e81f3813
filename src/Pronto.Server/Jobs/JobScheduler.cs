using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pronto.Core.Errors;

namespace Pronto.Server.Jobs;

/// <summary>
/// Runs the scheduled jobs on <see cref="TimeProvider"/>'s clock: one timer per job, set to its next cron time. At
/// that time the run starts, unless the job's previous run is still going: then the time is recorded as
/// <c>skipped</c>, never doubled. Every change of a run goes to <see cref="JobStore"/> first. At start, a run the
/// history shows as running (the process died) is marked <c>interrupted</c>, and the latest interrupted run of each
/// job is resumed with the batch job's own <c>--resume</c> (its committed parts are kept, exactly once); a graceful
/// stop cancels running jobs and records them <c>interrupted</c> likewise. Times missed while the server was down are
/// not run unless the job says <c>MissedRuns: run-once</c>: then the latest of them runs at start, once. Jobs come
/// from the settings and from the admin API (<see cref="Add"/>, <see cref="Replace"/>, <see cref="Remove"/>,
/// <see cref="RunNow"/>, <see cref="Cancel"/>), the latter saved in <see cref="ApiJobFile"/>.
/// </summary>
/// <remarks>
/// Locks: <c>_lock</c> guards the job list (and the API file that mirrors it), each <see cref="JobState"/> its own
/// timer and run; when both are held, <c>_lock</c> is taken first.
/// </remarks>
public sealed class JobScheduler : IHostedService, IDisposable
{
    private readonly Lock _lock = new();
    private readonly List<JobState> _order = [];
    private readonly ApiJobFile? _apiJobs;
    private readonly JobStore _store;
    private readonly IJobRunner _runner;
    private readonly TimeProvider _time;
    private readonly double _pricePerCpuHour;
    private readonly ILogger<JobScheduler> _logger;
    private readonly Dictionary<string, JobState> _states = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private bool _begun;

    /// <summary>The longest one timer waits before the scheduler looks again.</summary>
    internal static readonly TimeSpan LongestWait = TimeSpan.FromDays(1);

    /// <summary>
    /// The settings' jobs (validated by <see cref="ProntoServerOptions.Validate"/>), then those <paramref name="apiJobs"/>
    /// saved; an API job named like a settings job stops start-up.
    /// </summary>
    public JobScheduler(ProntoServerOptions options, JobStore store, IJobRunner runner, TimeProvider time, ILogger<JobScheduler> logger, ApiJobFile? apiJobs = null)
    {
        _store = store;
        _runner = runner;
        _time = time;
        _pricePerCpuHour = options.PricePerCpuHour;
        _logger = logger;
        _apiJobs = apiJobs;
        foreach (var job in options.Jobs)
        {
            Track(new JobState(job, fromSettings: true));
        }

        foreach (var job in apiJobs?.Load() ?? [])
        {
            if (_states.ContainsKey(job.Name))
            {
                throw new InvalidOperationException($"Pronto:Jobs '{job.Name}' is also a job added through the admin API ({apiJobs!.Path}); rename one of them, or remove it from that file.");
            }

            Track(new JobState(job, fromSettings: false));
        }
    }

    /// <summary>Every job: the settings' first, then those added through the API, in the order they were added.</summary>
    public IReadOnlyList<ScheduledJobOptions> Jobs
    {
        get
        {
            lock (_lock)
            {
                return [.. _order.Select(s => s.Job)];
            }
        }
    }

    /// <summary>The job of that name, or null.</summary>
    public ScheduledJobOptions? Find(string name)
    {
        lock (_lock)
        {
            return _states.TryGetValue(name, out var state) ? state.Job : null;
        }
    }

    /// <summary>True for a job of the settings (<c>Pronto:Jobs</c>, <c>--jobs</c>), which the API cannot delete.</summary>
    public bool IsFromSettings(string name)
    {
        lock (_lock)
        {
            return _states.TryGetValue(name, out var state) && state.FromSettings;
        }
    }

    public JobStore Store => _store;

    /// <summary>The job's next scheduled time, or null (unknown job, or a schedule with no more times).</summary>
    public DateTimeOffset? NextRun(string job)
    {
        if (StateOf(job) is not { } state)
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
        if (StateOf(job) is not { } state)
        {
            return Task.CompletedTask;
        }

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

        List<JobState> states;
        lock (_lock)
        {
            // From here on a job the API adds is scheduled at once; the ones before are scheduled below.
            _begun = true;
            states = [.. _order];
        }

        var now = _time.GetUtcNow();
        foreach (var state in states)
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
                    if (!state.Removed)
                    {
                        StartRun(state, latest.Id + "+resume", latest.Scheduled, resumes: latest.Id);
                    }
                }
            }

            // Times that passed while the server was down, after the last one the history knows (a new job has none).
            var lastKnown = runs.Count > 0 ? runs.Max(r => r.Scheduled) : (DateTimeOffset?)null;
            if (state.Job.RunsMissed && lastKnown is { } last && state.Job.MissedBetween(last, now) is { } missed)
            {
                lock (state)
                {
                    if (!state.Removed && !_store.Contains(RunId(state.Job.Name, missed.Latest)))
                    {
                        var when = missed.Latest.ToString("u", CultureInfo.InvariantCulture);
                        if (state.Current is null)
                        {
                            var run = StartRun(state, RunId(state.Job.Name, missed.Latest), missed.Latest, resumes: null, message: $"missed while the server was down (the latest of {missed.Count} missed times); run at start (MissedRuns: run-once)");
                            _logger.LogInformation("job {Job}: running {Scheduled}, missed while the server was down", state.Job.Name, run.Scheduled);
                        }
                        else
                        {
                            _store.Record(new JobRun { Id = RunId(state.Job.Name, missed.Latest), Job = state.Job.Name, Scheduled = missed.Latest, Status = JobStatus.Skipped, Message = $"missed while the server was down; not run at start because the resumed run of {state.CurrentScheduled.ToString("u", CultureInfo.InvariantCulture)} is going" });
                            _logger.LogWarning("job {Job}: the missed time {Scheduled} is skipped, a resumed run is going", state.Job.Name, when);
                        }
                    }
                }
            }

            Schedule(state, now);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        var running = new List<Task>();
        foreach (var state in Snapshot())
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
        foreach (var state in Snapshot())
        {
            state.Timer?.Dispose();
        }

        _stopping.Dispose();
    }

    /// <summary>
    /// Adds a job at run time (the admin API): validated, saved to <see cref="ApiJobFile"/>, then scheduled (at once when
    /// the scheduler has begun). Invalid: <see cref="ErrorCode.InvalidArgument"/> with the validator's message; a
    /// name in use: <see cref="ErrorCode.Conflict"/>.
    /// </summary>
    public void Add(ScheduledJobOptions job)
    {
        ValidateFromApi(job);

        var state = new JobState(job, fromSettings: false);
        bool begun;
        lock (_lock)
        {
            if (_states.ContainsKey(job.Name))
            {
                ProntoErrors.Conflict($"job '{job.Name}' exists; delete it first (DELETE /v2/jobs/{job.Name}) or choose another name");
            }

            // Saved before it counts: a job the API answered 201 for is there after a restart.
            SaveApiJobs([.. ApiJobs(), job]);
            Track(state);
            begun = _begun;
        }

        _logger.LogInformation("job {Job}: added through the admin API", job.Name);
        if (begun)
        {
            Schedule(state, _time.GetUtcNow());
        }
    }

    /// <summary>
    /// Changes a job added through the API in place (the admin API's <c>PUT</c>): validated, saved, and its timer set
    /// from now by the new schedule; a run in progress goes on with the definition it started with, the next run has
    /// the new one; the history is kept. Unknown: <see cref="ErrorCode.NotFound"/>; a settings job:
    /// <see cref="ErrorCode.Conflict"/>; invalid: <see cref="ErrorCode.InvalidArgument"/>.
    /// </summary>
    public void Replace(ScheduledJobOptions job)
    {
        ValidateFromApi(job);

        JobState state;
        bool begun;
        lock (_lock)
        {
            if (!_states.TryGetValue(job.Name, out state!))
            {
                throw UnknownJob(job.Name);
            }

            if (state.FromSettings)
            {
                ProntoErrors.Conflict($"job '{job.Name}' is declared in the server's settings (Pronto:Jobs or --jobs), not added through the API; change it there and restart the server");
            }

            SaveApiJobs([.. ApiJobs().Select(j => j.Name == job.Name ? job : j)]);
            lock (state)
            {
                state.Job = job;
            }

            begun = _begun;
        }

        _logger.LogInformation("job {Job}: changed through the admin API", job.Name);
        if (begun)
        {
            Schedule(state, _time.GetUtcNow());
        }
    }

    /// <summary>
    /// Cancels the run in progress of <paramref name="name"/>: its work is cancelled (a batch run keeps the parts it
    /// committed) and it is recorded <c>cancelled</c> when it ends; the schedule goes on. Returns the run as it was
    /// when cancelled (running). Unknown: <see cref="ErrorCode.NotFound"/>; no run in progress:
    /// <see cref="ErrorCode.Conflict"/>.
    /// </summary>
    public JobRun Cancel(string name)
    {
        var state = StateOf(name) ?? throw UnknownJob(name);
        CancellationTokenSource cancel;
        JobRun run;
        lock (state)
        {
            if (state.Current is null || state.CurrentCancel is null || state.CurrentId is null)
            {
                ProntoErrors.Conflict($"job '{name}' has no run in progress");
            }

            cancel = state.CurrentCancel;
            run = _store.RunsOf(name).First(r => r.Id == state.CurrentId);
        }

        // Outside the lock: the run's work may stop, and record its end, inside this call.
        try
        {
            cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The run ended between the lock and here: nothing is left to cancel.
        }

        return run;
    }

    /// <summary>A job from the admin API, validated: <see cref="ErrorCode.InvalidArgument"/> with the validator's message.</summary>
    private static void ValidateFromApi(ScheduledJobOptions job)
    {
        ArgumentNullException.ThrowIfNull(job);
        try
        {
            job.Validate($"job '{job.Name}'");
        }
        catch (InvalidOperationException e)
        {
            ProntoErrors.InvalidArgument(e.Message);
        }
    }

    /// <summary>
    /// Removes a job added through the API: its timer stops and the saved list drops it (its runs stay in the history).
    /// Unknown: <see cref="ErrorCode.NotFound"/>; a settings job or one with a run in progress:
    /// <see cref="ErrorCode.Conflict"/>.
    /// </summary>
    public void Remove(string name)
    {
        lock (_lock)
        {
            if (!_states.TryGetValue(name, out var state))
            {
                throw UnknownJob(name);
            }

            if (state.FromSettings)
            {
                ProntoErrors.Conflict($"job '{name}' is declared in the server's settings (Pronto:Jobs or --jobs), not added through the API; remove it there and restart the server");
            }

            lock (state)
            {
                if (state.Current is not null)
                {
                    ProntoErrors.Conflict($"job '{name}' has a run in progress ({state.CurrentId}); delete it once that run has ended");
                }

                SaveApiJobs([.. ApiJobs().Where(j => j.Name != name)]);
                state.Removed = true;
                state.Timer?.Dispose();
                state.Timer = null;
                state.Next = null;
            }

            _states.Remove(name);
            _order.Remove(state);
        }

        _logger.LogInformation("job {Job}: removed through the admin API", name);
    }

    /// <summary>
    /// Starts a run of <paramref name="name"/> now, outside its schedule (scheduled time = now, id ending in <c>+run</c>),
    /// recorded like the others; the schedule goes on. Unknown: <see cref="ErrorCode.NotFound"/>; a run in
    /// progress: <see cref="ErrorCode.Conflict"/>.
    /// </summary>
    public JobRun RunNow(string name)
    {
        var state = StateOf(name) ?? throw UnknownJob(name);
        lock (state)
        {
            if (state.Removed || _stopping.IsCancellationRequested)
            {
                throw _stopping.IsCancellationRequested ? new ProntoException(ErrorCode.Unavailable, "the server is stopping") : UnknownJob(name);
            }

            if (state.Current is not null)
            {
                ProntoErrors.Conflict($"job '{name}' has a run in progress ({state.CurrentId}); try again once it has ended");
            }

            var now = _time.GetUtcNow();
            var id = RunId(name, now) + "+run";
            for (var n = 2; _store.Contains(id); n++)
            {
                // Two runs asked for within one second: the history keeps both.
                id = RunId(name, now) + "+run" + n.ToString(CultureInfo.InvariantCulture);
            }

            return StartRun(state, id, now, resumes: null);
        }
    }

    /// <summary>The 404 of an unknown job, naming the jobs there are.</summary>
    internal ProntoException UnknownJob(string name)
    {
        var jobs = Jobs;
        var names = jobs.Count == 0 ? "no jobs are scheduled" : "the jobs are " + string.Join(", ", jobs.Select(j => j.Name));
        return new ProntoException(ErrorCode.NotFound, $"unknown job '{name}'; {names}");
    }

    private JobState? StateOf(string name)
    {
        lock (_lock)
        {
            return _states.TryGetValue(name, out var state) ? state : null;
        }
    }

    private List<JobState> Snapshot()
    {
        lock (_lock)
        {
            return [.. _order];
        }
    }

    /// <summary>Adds a job to the list; the caller holds <c>_lock</c> (or is the constructor).</summary>
    private void Track(JobState state)
    {
        _states.Add(state.Job.Name, state);
        _order.Add(state);
    }

    /// <summary>The API's jobs in order; the caller holds <c>_lock</c>.</summary>
    private IEnumerable<ScheduledJobOptions> ApiJobs() => _order.Where(s => !s.FromSettings).Select(s => s.Job);

    private void SaveApiJobs(List<ScheduledJobOptions> jobs)
    {
        if (_apiJobs is null)
        {
            ProntoErrors.Unsupported("this scheduler has no file to keep jobs in");
        }

        _apiJobs.Save(jobs);
    }

    /// <summary>Sets the job's timer to its first time after <paramref name="after"/>.</summary>
    private void Schedule(JobState state, DateTimeOffset after)
    {
        lock (state)
        {
            if (_stopping.IsCancellationRequested || state.Removed)
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
            if (state.Next is not { } next || _stopping.IsCancellationRequested || state.Removed)
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
                StartRun(state, RunId(state.Job.Name, scheduled), scheduled, resumes: null);
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
    private JobRun StartRun(JobState state, string id, DateTimeOffset scheduled, string? resumes, string? message = null)
    {
        var job = state.Job;
        var run = new JobRun
        {
            Id = id,
            Job = job.Name,
            Scheduled = scheduled,
            Status = JobStatus.Running,
            Started = _time.GetUtcNow(),
            Output = job.OutputOf(scheduled),
            Resumes = resumes,
            Message = message,
        };
        _store.Record(run);
        state.CurrentScheduled = scheduled;
        state.CurrentId = id;
        state.CurrentCancel = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        var cancel = state.CurrentCancel;
        state.Current = Task.Run(() => ExecuteAsync(state, job, run, cancel));
        return run;
    }

    private async Task ExecuteAsync(JobState state, ScheduledJobOptions job, JobRun run, CancellationTokenSource cancel)
    {
        JobRun end;
        try
        {
            var outcome = await _runner.RunAsync(job, run.Scheduled, resume: run.Resumes is not null, cancel.Token);
            end = Ended(run, outcome.Failed ? JobStatus.Failed : JobStatus.Succeeded, outcome.Message ?? run.Message, outcome);
        }
        catch (Exception) when (_stopping.IsCancellationRequested)
        {
            end = Ended(run, JobStatus.Interrupted, "the server stopped during the run", null);
        }
        catch (Exception) when (cancel.IsCancellationRequested)
        {
            end = Ended(run, JobStatus.Cancelled, "cancelled through the admin API (POST /v2/jobs/{name}/cancel)".Replace("{name}", run.Job, StringComparison.Ordinal), null);
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
            state.CurrentCancel = null;
        }

        cancel.Dispose();
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

    private sealed class JobState(ScheduledJobOptions job, bool fromSettings)
    {
        /// <summary>The definition; the admin API's <see cref="Replace"/> changes it under the state's lock.</summary>
        public ScheduledJobOptions Job { get; set; } = job;

        public bool FromSettings { get; } = fromSettings;

        /// <summary>Deleted through the API: a timer already due finds this and does nothing.</summary>
        public bool Removed { get; set; }

        public string? CurrentId { get; set; }

        public DateTimeOffset? Next { get; set; }

        public ITimer? Timer { get; set; }

        public Task? Current { get; set; }

        public DateTimeOffset CurrentScheduled { get; set; }

        /// <summary>Cancels the run in progress (linked to the scheduler's stop).</summary>
        public CancellationTokenSource? CurrentCancel { get; set; }
    }

    private sealed class Due(JobScheduler scheduler, JobState state)
    {
        public void Fire() => scheduler.OnDue(state);
    }
}
