using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Pronto.Core.Errors;
using Pronto.Server.Jobs;

namespace Pronto.Server.Tests.Jobs;

/// <summary>The scheduler on a fake clock with a fake runner whose runs end only when a test releases them.</summary>
public sealed class JobSchedulerTests : IDisposable
{
    private static readonly DateTimeOffset Midnight = DateTimeOffset.Parse("2026-12-05T00:00:00Z", CultureInfo.InvariantCulture);

    private readonly string _state = Path.Combine(Path.GetTempPath(), "pronto-job-tests", Guid.NewGuid().ToString("N")[..12]);
    private readonly FakeTimeProvider _time = new(Midnight);

    public void Dispose()
    {
        if (Directory.Exists(_state))
        {
            Directory.Delete(_state, recursive: true);
        }
    }

    [Fact]
    public async Task A_run_starts_at_its_cron_time_and_is_recorded()
    {
        var runner = new GatedRunner();
        using var scheduler = Scheduler(runner);
        scheduler.Begin();
        Assert.Equal(Midnight.AddMinutes(5), scheduler.NextRun("nightly"));

        _time.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
        Assert.Empty(runner.Calls);
        Assert.Empty(scheduler.Store.RunsOf("nightly"));

        _time.Advance(TimeSpan.FromSeconds(1));
        var running = Assert.Single(scheduler.Store.RunsOf("nightly"));
        Assert.Equal((JobStatus.Running, Midnight.AddMinutes(5), Midnight.AddMinutes(5)), (running.Status, running.Scheduled, running.Started!.Value));
        Assert.Equal("/data/out/scores-20261205T000500Z.jsonl", running.Output);
        Assert.Equal(Midnight.AddMinutes(10), scheduler.NextRun("nightly"));

        await runner.Started.Task;
        _time.Advance(TimeSpan.FromSeconds(30));
        runner.Finish(new JobOutcome(1000, 3, TimeSpan.FromSeconds(1.5), Failed: false, Message: null));
        await scheduler.Running("nightly");

        var done = Assert.Single(scheduler.Store.RunsOf("nightly"));
        Assert.Equal((JobStatus.Succeeded, 1000L, 3L, 1.5, Midnight.AddSeconds(330)), (done.Status, done.Rows, done.Errors, done.CostCpuSeconds, done.Ended!.Value));
        Assert.Equal([(Midnight.AddMinutes(5), false)], runner.Calls);
    }

    [Fact]
    public async Task A_run_still_going_at_its_next_time_makes_that_time_skipped_not_doubled()
    {
        var runner = new GatedRunner();
        using var scheduler = Scheduler(runner);
        scheduler.Begin();
        _time.Advance(TimeSpan.FromMinutes(5));
        await runner.Started.Task;

        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.Single(runner.Calls);
        var skipped = scheduler.Store.RunsOf("nightly")[0];
        Assert.Equal(("nightly@20261205T001000Z", JobStatus.Skipped, Midnight.AddMinutes(10), (DateTimeOffset?)null), (skipped.Id, skipped.Status, skipped.Scheduled, skipped.Started));
        Assert.Equal("the run scheduled at 2026-12-05 00:05:00Z was still going", skipped.Message);

        runner.Finish(new JobOutcome(10, 0, TimeSpan.Zero, Failed: false, Message: null));
        await scheduler.Running("nightly");
        runner.Reset();
        _time.Advance(TimeSpan.FromMinutes(5));
        await runner.Started.Task;
        Assert.Equal([Midnight.AddMinutes(5), Midnight.AddMinutes(15)], runner.Calls.Select(c => c.Scheduled));
        Assert.Equal(
            [(Midnight.AddMinutes(15), JobStatus.Running), (Midnight.AddMinutes(10), JobStatus.Skipped), (Midnight.AddMinutes(5), JobStatus.Succeeded)],
            scheduler.Store.RunsOf("nightly").Select(r => (r.Scheduled, r.Status)));
        runner.Finish(new JobOutcome(10, 0, TimeSpan.Zero, Failed: false, Message: null));
        await scheduler.Running("nightly");
    }

    [Fact]
    public async Task After_a_crash_the_run_left_running_is_marked_interrupted_and_resumed()
    {
        var first = new GatedRunner();
        var crashed = Scheduler(first);
        crashed.Begin();
        _time.Advance(TimeSpan.FromMinutes(5));
        await first.Started.Task;
        // The process dies here: nothing more is written. A new scheduler reads the same history.

        _time.Advance(TimeSpan.FromMinutes(2));
        var second = new GatedRunner();
        using var restarted = Scheduler(second);
        restarted.Begin();
        await second.Started.Task;
        Assert.Equal([(Midnight.AddMinutes(5), true)], second.Calls);
        Assert.Equal(Midnight.AddMinutes(10), restarted.NextRun("nightly"));
        var runs = restarted.Store.RunsOf("nightly");
        Assert.Equal(
            [("nightly@20261205T000500Z+resume", JobStatus.Running, "nightly@20261205T000500Z"), ("nightly@20261205T000500Z", JobStatus.Interrupted, null)],
            runs.Select(r => (r.Id, r.Status, r.Resumes)));
        Assert.Equal((Midnight.AddMinutes(7), "the server stopped during the run"), (runs[1].Ended!.Value, runs[1].Message));

        second.Finish(new JobOutcome(500, 0, TimeSpan.Zero, Failed: false, Message: null));
        await restarted.Running("nightly");
        Assert.Equal(JobStatus.Succeeded, restarted.Store.RunsOf("nightly")[0].Status);
        first.Finish(new JobOutcome(0, 0, TimeSpan.Zero, Failed: false, Message: null));
        await crashed.Running("nightly");
        crashed.Dispose();
    }

    [Theory]
    [InlineData(null)]
    [InlineData("skip")]
    [InlineData("run-once")]
    public async Task Times_missed_while_the_server_was_down_are_skipped_or_with_run_once_the_latest_runs_once_at_start(string? missedRuns)
    {
        var first = new GatedRunner();
        using (var before = Scheduler(first, missedRuns: missedRuns))
        {
            before.Begin();
            _time.Advance(TimeSpan.FromMinutes(5));
            await first.Started.Task;
            first.Finish(new JobOutcome(1, 0, TimeSpan.Zero, Failed: false, Message: null));
            await before.Running("nightly");
            await before.StopAsync(CancellationToken.None);
        }

        // Down from 00:05 to 00:22: 00:10, 00:15 and 00:20 pass.
        _time.Advance(TimeSpan.FromMinutes(17));
        var second = new GatedRunner();
        using var after = Scheduler(second, missedRuns: missedRuns);
        after.Begin();
        Assert.Equal(Midnight.AddMinutes(25), after.NextRun("nightly"));
        if (missedRuns != "run-once")
        {
            Assert.Empty(second.Calls);
            Assert.Equal(["nightly@20261205T000500Z"], after.Store.RunsOf("nightly").Select(r => r.Id));
            return;
        }

        await second.Started.Task;
        Assert.Equal([(Midnight.AddMinutes(20), false)], second.Calls);
        var running = after.Store.RunsOf("nightly")[0];
        const string Why = "missed while the server was down (the latest of 3 missed times); run at start (MissedRuns: run-once)";
        Assert.Equal(("nightly@20261205T002000Z", JobStatus.Running, Midnight.AddMinutes(22), Why), (running.Id, running.Status, running.Started!.Value, running.Message));
        second.Finish(new JobOutcome(7, 0, TimeSpan.Zero, Failed: false, Message: null));
        await after.Running("nightly");
        Assert.Equal(
            [("nightly@20261205T002000Z", JobStatus.Succeeded, 7L, Why), ("nightly@20261205T000500Z", JobStatus.Succeeded, 1L, null)],
            after.Store.RunsOf("nightly").Select(r => (r.Id, r.Status, r.Rows, r.Message)));
    }

    [Fact]
    public void A_missed_runs_policy_other_than_skip_or_run_once_is_refused_at_start()
    {
        var job = Job("*/5 * * * *");
        job.MissedRuns = "all";
        var e = Assert.Throws<InvalidOperationException>(() => new ProntoServerOptions { Jobs = { job }, StateDirectory = _state }.Validate());
        Assert.Equal("Pronto:Jobs 'nightly': MissedRuns 'all' is not supported (skip or run-once).", e.Message);
    }

    [Fact]
    public async Task A_run_cancelled_is_recorded_cancelled_and_the_schedule_goes_on()
    {
        var runner = new GatedRunner();
        using var scheduler = Scheduler(runner);
        scheduler.Begin();
        Assert.Equal(ErrorCode.Conflict, Assert.Throws<ProntoException>(() => scheduler.Cancel("nightly")).Code);
        _time.Advance(TimeSpan.FromMinutes(5));
        await runner.Started.Task;

        _time.Advance(TimeSpan.FromSeconds(40));
        var cancelling = scheduler.Cancel("nightly");
        Assert.Equal(("nightly@20261205T000500Z", JobStatus.Running), (cancelling.Id, cancelling.Status));
        await scheduler.Running("nightly");
        var cancelled = Assert.Single(scheduler.Store.RunsOf("nightly"));
        Assert.Equal((JobStatus.Cancelled, Midnight.AddSeconds(340), "cancelled through the admin API (POST /v2/jobs/nightly/cancel)"), (cancelled.Status, cancelled.Ended!.Value, cancelled.Message));
        Assert.Equal("job 'nightly' has no run in progress", Assert.Throws<ProntoException>(() => scheduler.Cancel("nightly")).Message);
        Assert.Equal(ErrorCode.NotFound, Assert.Throws<ProntoException>(() => scheduler.Cancel("other")).Code);

        runner.Reset();
        _time.Advance(TimeSpan.FromMinutes(4) + TimeSpan.FromSeconds(20));
        await runner.Started.Task;
        Assert.Equal([Midnight.AddMinutes(5), Midnight.AddMinutes(10)], runner.Calls.Select(c => c.Scheduled));
        runner.Finish(new JobOutcome(1, 0, TimeSpan.Zero, Failed: false, Message: null));
        await scheduler.Running("nightly");
    }

    [Fact]
    public async Task A_graceful_stop_records_the_running_run_interrupted_and_the_next_start_resumes_it()
    {
        var first = new GatedRunner();
        using (var stopped = Scheduler(first))
        {
            stopped.Begin();
            _time.Advance(TimeSpan.FromMinutes(5));
            await first.Started.Task;
            await stopped.StopAsync(CancellationToken.None);
            Assert.Equal(JobStatus.Interrupted, stopped.Store.RunsOf("nightly")[0].Status);
            _time.Advance(TimeSpan.FromMinutes(5));
            Assert.Single(first.Calls);
        }

        var second = new GatedRunner();
        using var restarted = Scheduler(second);
        restarted.Begin();
        await second.Started.Task;
        Assert.Equal([(Midnight.AddMinutes(5), true)], second.Calls);
        second.Finish(new JobOutcome(1, 0, TimeSpan.Zero, Failed: false, Message: null));
        await restarted.Running("nightly");
    }

    [Fact]
    public async Task A_yearly_schedule_waits_past_the_longest_timer_and_runs_on_its_day()
    {
        var runner = new GatedRunner();
        using var scheduler = Scheduler(runner, "0 0 1 1 *");
        scheduler.Begin();
        var newYear = DateTimeOffset.Parse("2027-01-01T00:00:00Z", CultureInfo.InvariantCulture);
        Assert.Equal(newYear, scheduler.NextRun("nightly"));

        _time.Advance(newYear - Midnight - TimeSpan.FromMinutes(1));
        Assert.Empty(runner.Calls);
        _time.Advance(TimeSpan.FromMinutes(1));
        await runner.Started.Task;
        Assert.Equal([(newYear, false)], runner.Calls);
        Assert.Equal(newYear.AddYears(1), scheduler.NextRun("nightly"));
        runner.Finish(new JobOutcome(1, 0, TimeSpan.Zero, Failed: false, Message: null));
        await scheduler.Running("nightly");
    }

    [Fact]
    public async Task A_run_that_throws_is_recorded_failed_with_its_message()
    {
        var runner = new GatedRunner();
        using var scheduler = Scheduler(runner);
        scheduler.Begin();
        _time.Advance(TimeSpan.FromMinutes(5));
        await runner.Started.Task;
        runner.Fail(new IOException("input '/data/in.csv' does not exist"));
        await scheduler.Running("nightly");
        var run = scheduler.Store.RunsOf("nightly")[0];
        Assert.Equal((JobStatus.Failed, "input '/data/in.csv' does not exist"), (run.Status, run.Message));
    }

    [Theory]
    [InlineData("61 * * * *", "Pronto:Jobs 'nightly': Cron '61 * * * *' is not a cron expression")]
    [InlineData("every night", "Pronto:Jobs 'nightly': Cron 'every night' is not a cron expression")]
    public void A_bad_cron_expression_stops_the_server_from_starting_naming_the_job(string cron, string message)
    {
        var error = Assert.Throws<InvalidOperationException>(() => ProntoServer.Create([], options => options.Jobs.Add(Job(cron))));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_output_without_a_time_placeholder_is_refused_at_start()
    {
        var job = Job("*/5 * * * *");
        job.Output = "/data/out/scores.jsonl";
        var options = new ProntoServerOptions { Jobs = { job } };
        var error = Assert.Throws<InvalidOperationException>(options.Validate);
        Assert.Equal("Pronto:Jobs 'nightly': Output must contain {time} so that each run writes its own output.", error.Message);
    }

    [Fact]
    public void A_jobs_file_adds_its_jobs()
    {
        Directory.CreateDirectory(_state);
        var file = Path.Combine(_state, "jobs.json");
        File.WriteAllText(file, """[{"name": "hourly", "cron": "0 * * * *", "model": "fraud", "input": "in.csv", "output": "out-{time}.jsonl", "partRows": 500}]""");
        var options = new ProntoServerOptions { JobsFile = file };
        options.Validate();
        var job = Assert.Single(options.Jobs);
        Assert.Equal(("hourly", (int?)500, Midnight.AddHours(1)), (job.Name, job.PartRows, job.NextAfter(Midnight)!.Value));
    }

    internal static ScheduledJobOptions Job(string cron) => new()
    {
        Name = "nightly",
        Cron = cron,
        Model = "fraud",
        Input = "/data/in.csv",
        Output = "/data/out/scores-{time}.jsonl",
    };

    private JobScheduler Scheduler(IJobRunner runner, string cron = "*/5 * * * *", string? missedRuns = null)
    {
        var job = Job(cron);
        job.MissedRuns = missedRuns;
        var options = new ProntoServerOptions { Jobs = { job }, StateDirectory = _state };
        options.Validate();
        return new JobScheduler(options, new JobStore(options.StateFolder()), runner, _time, NullLogger<JobScheduler>.Instance);
    }
}
