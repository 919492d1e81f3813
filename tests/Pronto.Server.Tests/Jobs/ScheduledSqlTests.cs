using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Pronto.Core.Inference;
using Pronto.Server.Jobs;
using Pronto.Testing;

namespace Pronto.Server.Tests.Jobs;

/// <summary>A real server on a fake clock running a scheduled SQL job: DuckDB statements over a tiny model, with pronto_predict.</summary>
public sealed class ScheduledSqlTests : IDisposable
{
    /// <summary>Each engine run costs exactly this on the fake CPU clock (one reading before the run, one after).</summary>
    private const long StepNs = 2_000_000;

    private static readonly DateTimeOffset Midnight = DateTimeOffset.Parse("2026-12-05T00:00:00Z", CultureInfo.InvariantCulture);

    private readonly string _work = Directory.CreateTempSubdirectory("pronto-sql-jobs-").FullName;
    private readonly FakeTimeProvider _time = new(Midnight);

    public ScheduledSqlTests()
    {
        AdderRepository.Write(_work);
    }

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public async Task A_due_sql_job_writes_its_output_through_the_models_and_is_recorded()
    {
        await using var server = await StartAsync($"COPY (SELECT x, pronto_predict('adder', x) AS y FROM range(4) t(x) ORDER BY x) TO '{_work}/out-{{time}}.csv' (HEADER)");
        var scheduler = server.Services.GetRequiredService<JobScheduler>();
        await scheduler.Started;
        _time.Advance(TimeSpan.FromMinutes(5));
        await scheduler.Running("scores");

        Assert.Equal(["x,y", "0,1.0", "1,2.0", "2,3.0", "3,4.0"], File.ReadAllLines(Path.Combine(_work, "out-20261205T000500Z.csv")));
        var run = Assert.Single(scheduler.Store.RunsOf("scores"));
        // One chunk of 4 rows is one engine run: one step of the CPU clock.
        Assert.Equal(
            ("scores@20261205T000500Z", JobStatus.Succeeded, 4L, 0L, StepNs / 1e9, Midnight.AddMinutes(5), (string?)null, (string?)null),
            (run.Id, run.Status, run.Rows, run.Errors, run.CostCpuSeconds, run.Ended!.Value, run.Output, run.Message));
        await server.StopAsync();
    }

    [Fact]
    public async Task A_failing_sql_run_is_recorded_failed_with_duckdbs_message_and_the_next_run_still_happens()
    {
        var input = Path.Combine(_work, "in.csv");
        await using var server = await StartAsync(
            $"CREATE TABLE scored AS SELECT v, pronto_predict('adder', v) AS p FROM read_csv('{input}'); COPY scored TO '{_work}/scored-{{time}}.csv' (HEADER)",
            database: Path.Combine(_work, "jobs.duckdb"));
        var scheduler = server.Services.GetRequiredService<JobScheduler>();
        await scheduler.Started;
        _time.Advance(TimeSpan.FromMinutes(5));
        await scheduler.Running("scores");

        var failed = Assert.Single(scheduler.Store.RunsOf("scores"));
        Assert.Equal((JobStatus.Failed, 0L, 0.0), (failed.Status, failed.Rows, failed.CostCpuSeconds));
        Assert.StartsWith($"IO Error: No files found that match the pattern \"{input}\"", failed.Message, StringComparison.Ordinal);
        using var http = new HttpClient { BaseAddress = server.HttpUri };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v2/health/ready")).StatusCode);

        File.WriteAllLines(input, ["v", "10", "20"]);
        _time.Advance(TimeSpan.FromMinutes(5));
        await scheduler.Running("scores");
        Assert.Equal(["v,p", "10,11.0", "20,21.0"], File.ReadAllLines(Path.Combine(_work, "scored-20261205T001000Z.csv")));
        Assert.Equal(
            [("scores@20261205T001000Z", JobStatus.Succeeded, 2L), ("scores@20261205T000500Z", JobStatus.Failed, 0L)],
            scheduler.Store.RunsOf("scores").Select(r => (r.Id, r.Status, r.Rows)));
        await server.StopAsync();
    }

    [Theory]
    [InlineData("""{"name":"s","cron":"* * * * *","kind":"sql"}""", "job 's': Sql must be set (the DuckDB statements of each run).")]
    [InlineData("""{"name":"s","cron":"* * * * *","kind":"sql","sql":"SELECT 1","model":"fraud","partRows":10}""", "job 's': Model, PartRows are batch settings; a sql job takes Sql (and Database).")]
    [InlineData("""{"name":"s","cron":"* * * * *","kind":"sql","sql":"SELECT 1","output":"o-{time}"}""", "job 's': Output is a batch setting; a sql job takes Sql (and Database).")]
    [InlineData("""{"name":"b","cron":"* * * * *","model":"fraud","input":"i","output":"o-{time}","sql":"SELECT 1"}""", "job 'b': Sql is a sql setting; a batch job takes Model, Input and Output (or set Kind 'sql').")]
    [InlineData("""{"name":"b","cron":"* * * * *","model":"fraud","input":"i","output":"o-{time}","database":"x.duckdb"}""", "job 'b': Database is a sql setting; a batch job takes Model, Input and Output (or set Kind 'sql').")]
    [InlineData("""{"name":"b","cron":"* * * * *","kind":"python"}""", "job 'b': Kind 'python' is not supported (batch or sql).")]
    public void Settings_of_the_other_kind_are_refused_naming_them(string json, string message)
    {
        var job = System.Text.Json.JsonSerializer.Deserialize<ScheduledJobOptions>(json, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))!;
        var error = Assert.Throws<InvalidOperationException>(() => job.Validate($"job '{job.Name}'"));
        Assert.Equal(message, error.Message);
    }

    private Task<ProntoServer> StartAsync(string sql, string? database = null) => ServerFixture.StartAsync(
        options =>
        {
            options.ModelRepository = Path.Combine(_work, "models");
            options.StateDirectory = Path.Combine(_work, "state");
            options.Jobs.Add(new ScheduledJobOptions { Name = "scores", Kind = ScheduledJobOptions.SqlKind, Cron = "*/5 * * * *", Sql = sql, Database = database });
        },
        _time,
        s => s.AddSingleton<CpuClock>(new SteppingCpuClock(StepNs)));

    /// <summary>A per-thread clock that moves <paramref name="step"/> ns per reading on the reading thread, as a thread CPU clock does.</summary>
    private sealed class SteppingCpuClock(long step) : CpuClock
    {
        private readonly ThreadLocal<long> _now = new();

        public override long GetThreadCpuNanoseconds() => _now.Value += step;
    }
}
