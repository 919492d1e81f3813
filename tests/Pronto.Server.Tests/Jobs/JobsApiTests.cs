using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Pronto.Server.Jobs;
using Pronto.Testing;

namespace Pronto.Server.Tests.Jobs;

/// <summary>The jobs admin API on a real server and a fake clock: POST /v2/jobs, GET, POST .../run, DELETE, auth, persistence.</summary>
public sealed class JobsApiTests : IDisposable
{
    private const string AdminKey = "admin-secret";
    private const string SqlJob = """{"name": "hourly", "kind": "sql", "cron": "0 * * * *", "sql": "SELECT 1"}""";
    private static readonly DateTimeOffset Midnight = DateTimeOffset.Parse("2026-12-05T00:00:00Z", CultureInfo.InvariantCulture);

    private readonly string _work = Directory.CreateTempSubdirectory("pronto-jobs-api-").FullName;
    private readonly FakeTimeProvider _time = new(Midnight);

    public JobsApiTests()
    {
        AdderRepository.Write(_work);
    }

    private string State => Path.Combine(_work, "state");

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public async Task A_job_is_added_listed_run_now_and_deleted_through_the_admin_API()
    {
        var runner = new GatedRunner();
        await using var server = await StartAsync(runner: runner);
        await server.Services.GetRequiredService<JobScheduler>().Started;
        using var http = Admin(server);

        using var added = await http.PostAsync("/v2/jobs", Json(SqlJob));
        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        Assert.Equal("/v2/jobs/hourly", added.Headers.Location?.OriginalString);
        var body = await added.Content.ReadAsStringAsync();
        Assert.Equal(
            """{"name":"hourly","kind":"sql","cron":"0 * * * *","time_zone":"UTC","sql":"SELECT 1","database":null,"missed_runs":"skip","source":"api","next_run":"2026-12-05T01:00:00+00:00","running":false,"runs":[]}""",
            body);
        Assert.Equal(body, await http.GetStringAsync("/v2/jobs/hourly"));
        using (var list = JsonDocument.Parse(await http.GetStringAsync("/v2/jobs")))
        {
            Assert.Equal(["settings-job", "hourly"], list.RootElement.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("name").GetString()));
        }

        await AssertError(http.PostAsync("/v2/jobs", Json(SqlJob)), HttpStatusCode.Conflict, "job 'hourly' exists; delete it first (DELETE /v2/jobs/hourly) or choose another name");

        using (var started = await http.PostAsync("/v2/jobs/hourly/run", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            using var run = JsonDocument.Parse(await started.Content.ReadAsStringAsync());
            Assert.Equal(("hourly@20261205T000000Z+run", "running", "2026-12-05T00:00:00+00:00"), (run.RootElement.GetProperty("id").GetString(), run.RootElement.GetProperty("status").GetString(), run.RootElement.GetProperty("scheduled").GetString()));
        }

        await runner.Started.Task;
        await AssertError(http.PostAsync("/v2/jobs/hourly/run", null), HttpStatusCode.Conflict, "job 'hourly' has a run in progress (hourly@20261205T000000Z+run); try again once it has ended");
        await AssertError(http.DeleteAsync("/v2/jobs/hourly"), HttpStatusCode.Conflict, "job 'hourly' has a run in progress (hourly@20261205T000000Z+run); delete it once that run has ended");

        runner.Finish(new JobOutcome(3, 0, TimeSpan.FromSeconds(0.25), Failed: false, Message: null));
        await server.Services.GetRequiredService<JobScheduler>().Running("hourly");
        using (var one = JsonDocument.Parse(await http.GetStringAsync("/v2/jobs/hourly")))
        {
            var run = Assert.Single(one.RootElement.GetProperty("runs").EnumerateArray());
            Assert.Equal(("succeeded", 3L, 0.25), (run.GetProperty("status").GetString(), run.GetProperty("rows").GetInt64(), run.GetProperty("cost_cpu_seconds").GetDouble()));
        }

        await AssertError(http.DeleteAsync("/v2/jobs/settings-job"), HttpStatusCode.Conflict, "job 'settings-job' is declared in the server's settings (Pronto:Jobs or --jobs), not added through the API; remove it there and restart the server");
        using (var deleted = await http.DeleteAsync("/v2/jobs/hourly"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await AssertError(http.GetAsync("/v2/jobs/hourly"), HttpStatusCode.NotFound, "unknown job 'hourly'; the jobs are settings-job");
        await AssertError(http.DeleteAsync("/v2/jobs/hourly"), HttpStatusCode.NotFound, "unknown job 'hourly'; the jobs are settings-job");
        await AssertError(http.PostAsync("/v2/jobs/hourly/run", null), HttpStatusCode.NotFound, "unknown job 'hourly'; the jobs are settings-job");
        Assert.Equal("[]", File.ReadAllText(Path.Combine(State, ApiJobFile.FileName)));
        Assert.Equal([(Midnight, false)], runner.Calls);
        await server.StopAsync();
    }

    [Fact]
    public async Task A_job_is_changed_in_place_and_its_run_cancelled_through_the_admin_API()
    {
        var runner = new GatedRunner();
        await using var server = await StartAsync(runner: runner);
        var scheduler = server.Services.GetRequiredService<JobScheduler>();
        await scheduler.Started;
        using var http = Admin(server);
        (await http.PostAsync("/v2/jobs", Json(SqlJob))).Dispose();

        // The name may be left out of the body; the route names the job.
        using (var changed = await http.PutAsync("/v2/jobs/hourly", Json("""{"kind": "sql", "cron": "*/30 * * * *", "sql": "SELECT 2", "missedRuns": "run-once"}""")))
        {
            Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
            Assert.Equal(
                """{"name":"hourly","kind":"sql","cron":"*/30 * * * *","time_zone":"UTC","sql":"SELECT 2","database":null,"missed_runs":"run-once","source":"api","next_run":"2026-12-05T00:30:00+00:00","running":false,"runs":[]}""",
                await changed.Content.ReadAsStringAsync());
        }

        using (var saved = JsonDocument.Parse(File.ReadAllText(Path.Combine(State, ApiJobFile.FileName))))
        {
            var job = Assert.Single(saved.RootElement.EnumerateArray());
            Assert.Equal(("hourly", "*/30 * * * *", "SELECT 2", "run-once"), (job.GetProperty("name").GetString(), job.GetProperty("cron").GetString(), job.GetProperty("sql").GetString(), job.GetProperty("missedRuns").GetString()));
        }

        await AssertError(http.PutAsync("/v2/jobs/hourly", Json("""{"name": "daily", "kind": "sql", "cron": "0 0 * * *", "sql": "SELECT 3"}""")), HttpStatusCode.BadRequest, "the body's name 'daily' is not the job's 'hourly'; a job cannot be renamed (add it under the new name and delete the old one)");
        await AssertError(http.PutAsync("/v2/jobs/hourly", Json("""{"kind": "sql", "cron": "0 * * * *"}""")), HttpStatusCode.BadRequest, "job 'hourly': Sql must be set (the DuckDB statements of each run).");
        await AssertError(http.PutAsync("/v2/jobs/settings-job", Json("""{"kind": "sql", "cron": "0 * * * *", "sql": "SELECT 1"}""")), HttpStatusCode.Conflict, "job 'settings-job' is declared in the server's settings (Pronto:Jobs or --jobs), not added through the API; change it there and restart the server");
        await AssertError(http.PutAsync("/v2/jobs/weekly", Json("""{"kind": "sql", "cron": "0 * * * *", "sql": "SELECT 1"}""")), HttpStatusCode.NotFound, "unknown job 'weekly'; the jobs are settings-job, hourly");
        await AssertError(http.PostAsync("/v2/jobs/hourly/cancel", null), HttpStatusCode.Conflict, "job 'hourly' has no run in progress");

        // The new definition runs on the new schedule; cancelling it records it cancelled.
        _time.Advance(TimeSpan.FromMinutes(30));
        await runner.Started.Task;
        Assert.Equal([(Midnight.AddMinutes(30), "SELECT 2")], runner.Calls.Select((c, i) => (c.Scheduled, runner.Jobs[i].Sql)));
        using (var cancelling = await http.PostAsync("/v2/jobs/hourly/cancel", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, cancelling.StatusCode);
            using var run = JsonDocument.Parse(await cancelling.Content.ReadAsStringAsync());
            Assert.Equal(("hourly@20261205T003000Z", "running"), (run.RootElement.GetProperty("id").GetString(), run.RootElement.GetProperty("status").GetString()));
        }

        await scheduler.Running("hourly");
        using (var one = JsonDocument.Parse(await http.GetStringAsync("/v2/jobs/hourly")))
        {
            var run = Assert.Single(one.RootElement.GetProperty("runs").EnumerateArray());
            Assert.Equal(("cancelled", "cancelled through the admin API (POST /v2/jobs/hourly/cancel)"), (run.GetProperty("status").GetString(), run.GetProperty("message").GetString()));
            Assert.Equal("2026-12-05T01:00:00+00:00", one.RootElement.GetProperty("next_run").GetString());
        }

        await server.StopAsync();
    }

    [Fact]
    public async Task An_invalid_job_is_a_400_with_the_validators_message_and_nothing_is_added()
    {
        await using var server = await StartAsync(runner: new GatedRunner());
        using var http = Admin(server);

        await AssertError(http.PostAsync("/v2/jobs", Json("""{"name": "s", "kind": "sql", "cron": "0 * * * *"}""")), HttpStatusCode.BadRequest, "job 's': Sql must be set (the DuckDB statements of each run).");
        await AssertError(http.PostAsync("/v2/jobs", Json("""{"name": "s", "kind": "sql", "cron": "0 * * * *", "sql": "SELECT 1", "model": "adder"}""")), HttpStatusCode.BadRequest, "job 's': Model is a batch setting; a sql job takes Sql (and Database).");
        await AssertError(http.PostAsync("/v2/jobs", Json("""{"name": "s", "model": "adder", "input": "in.csv", "output": "out.jsonl", "cron": "0 * * * *"}""")), HttpStatusCode.BadRequest, "job 's': Output must contain {time} so that each run writes its own output.");
        await AssertError(http.PostAsync("/v2/jobs", Json("""{"name": "s", "kind": "sql", "cron": "0 25 * * *", "sql": "SELECT 1"}""")), HttpStatusCode.BadRequest, "job 's': Cron '0 25 * * *' is not a cron expression", prefix: true);
        await AssertError(http.PostAsync("/v2/jobs", Json("""{"name": "s", "kind": "sql", "cron": "0 * * * *", "sqll": "SELECT 1"}""")), HttpStatusCode.BadRequest, "the body is not a job's JSON object ({\"name\", \"cron\", \"kind\", ...} as in Pronto:Jobs): The JSON property 'sqll' could not be mapped", prefix: true);
        await AssertError(http.PostAsync("/v2/jobs", Json("""{"name": "s",""")), HttpStatusCode.BadRequest, "the body is not a job's JSON object", prefix: true);
        await AssertError(http.PostAsync("/v2/jobs", Json("null")), HttpStatusCode.BadRequest, "the body is not a job's JSON object: got null");
        Assert.Equal(["settings-job"], server.Services.GetRequiredService<JobScheduler>().Jobs.Select(j => j.Name));
        Assert.False(File.Exists(Path.Combine(State, ApiJobFile.FileName)));
        await server.StopAsync();
    }

    [Fact]
    public async Task Changing_jobs_needs_an_admin_key_401_and_the_admin_API_on_403_reading_needs_neither()
    {
        await using (var server = await StartAsync(runner: new GatedRunner()))
        {
            using var anonymous = new HttpClient { BaseAddress = server.HttpUri };
            using var wrong = new HttpClient { BaseAddress = server.HttpUri };
            wrong.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "not-the-key");
            foreach (var http in new[] { anonymous, wrong })
            {
                foreach (var call in Changes(http))
                {
                    using var response = await call();
                    Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
                    Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
                    Assert.Equal("""{"error":"missing or invalid credentials: send 'Authorization: Bearer <key>' with an admin key"}""", await response.Content.ReadAsStringAsync());
                }
            }

            Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/v2/jobs/settings-job")).StatusCode);
            await server.StopAsync();
        }

        await using (var closed = await StartAsync(runner: new GatedRunner(), adminApi: false))
        {
            using var http = Admin(closed);
            foreach (var call in Changes(http))
            {
                await AssertError(call(), HttpStatusCode.Forbidden, "the admin API is disabled, and adding, removing or running jobs needs it; enable it with --enable-repository-api (Pronto:EnableRepositoryApi) and an admin key");
            }

            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v2/jobs")).StatusCode);
            await closed.StopAsync();
        }
    }

    [Fact]
    public async Task A_job_added_through_the_API_survives_a_restart_and_runs_on_its_schedule()
    {
        var job = $$"""{"name": "scores", "kind": "sql", "cron": "*/5 * * * *", "sql": "COPY (SELECT x, pronto_predict('adder', x) AS y FROM range(3) t(x) ORDER BY x) TO '{{_work}}/scores-{time}.csv' (HEADER)"}""";
        await using (var first = await StartAsync())
        {
            using var http = Admin(first);
            using var added = await http.PostAsync("/v2/jobs", Json(job));
            Assert.Equal(HttpStatusCode.Created, added.StatusCode);
            await first.StopAsync();
        }

        await using (var second = await StartAsync())
        {
            var scheduler = second.Services.GetRequiredService<JobScheduler>();
            await scheduler.Started;
            Assert.Equal(["settings-job", "scores"], scheduler.Jobs.Select(j => j.Name));
            Assert.False(scheduler.IsFromSettings("scores"));
            Assert.Equal(Midnight.AddMinutes(5), scheduler.NextRun("scores"));
            _time.Advance(TimeSpan.FromMinutes(5));
            await scheduler.Running("scores");
            Assert.Equal(["x,y", "0,1.0", "1,2.0", "2,3.0"], File.ReadAllLines(Path.Combine(_work, "scores-20261205T000500Z.csv")));
            var run = Assert.Single(scheduler.Store.RunsOf("scores"));
            Assert.Equal((JobStatus.Succeeded, 3L), (run.Status, run.Rows));
            await second.StopAsync();
        }

        // A settings job of the same name: start-up stops and names both.
        var error = Assert.Throws<InvalidOperationException>(() => ProntoServer.Create([], options =>
        {
            options.ModelRepository = Path.Combine(_work, "models");
            options.StateDirectory = State;
            options.Jobs.Add(new ScheduledJobOptions { Name = "scores", Kind = ScheduledJobOptions.SqlKind, Cron = "0 * * * *", Sql = "SELECT 1" });
        }));
        Assert.Equal($"Pronto:Jobs 'scores' is also a job added through the admin API ({Path.Combine(State, ApiJobFile.FileName)}); rename one of them, or remove it from that file.", error.Message);
    }

    private static IEnumerable<Func<Task<HttpResponseMessage>>> Changes(HttpClient http) =>
    [
        () => http.PostAsync("/v2/jobs", Json(SqlJob)),
        () => http.DeleteAsync("/v2/jobs/settings-job"),
        () => http.PostAsync("/v2/jobs/settings-job/run", null),
        () => http.PutAsync("/v2/jobs/settings-job", Json(SqlJob)),
        () => http.PostAsync("/v2/jobs/settings-job/cancel", null),
    ];

    private static async Task AssertError(Task<HttpResponseMessage> call, HttpStatusCode status, string message, bool prefix = false)
    {
        using var response = await call;
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{response.StatusCode}: {body}");
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error").GetString()!;
        if (prefix)
        {
            Assert.StartsWith(message, error, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(message, error);
        }
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static HttpClient Admin(ProntoServer server)
    {
        var http = new HttpClient { BaseAddress = server.HttpUri };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        return http;
    }

    private Task<ProntoServer> StartAsync(IJobRunner? runner = null, bool adminApi = true) => ServerFixture.StartAsync(
        options =>
        {
            options.ModelRepository = Path.Combine(_work, "models");
            options.StateDirectory = State;
            options.EnableRepositoryApi = adminApi;
            options.AdminKeys.Add(AdminKey);
            // A settings job that never comes due during a test (yearly), so only the API's jobs run.
            options.Jobs.Add(new ScheduledJobOptions { Name = "settings-job", Kind = ScheduledJobOptions.SqlKind, Cron = "0 0 1 1 *", Sql = "SELECT 1" });
        },
        _time,
        runner is null ? null : s => s.AddSingleton(runner));
}
