using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Pronto.Models.Fraud;
using Pronto.Server.Jobs;
using Pronto.Server.Tests.Rest;

namespace Pronto.Server.Tests.Jobs;

/// <summary>A real server on a fake clock running a scheduled <c>pronto batch</c> job over the fraud model, and GET /v2/jobs.</summary>
public sealed class ScheduledBatchTests : IDisposable
{
    private const int Rows = 250;
    private static readonly DateTimeOffset Midnight = DateTimeOffset.Parse("2026-12-05T00:00:00Z", CultureInfo.InvariantCulture);

    private readonly TempRepository _repository = new("fraud");
    private readonly string _work = Directory.CreateTempSubdirectory("pronto-jobs-").FullName;
    private readonly FakeTimeProvider _time = new(Midnight);

    public ScheduledBatchTests()
    {
        var text = new StringBuilder("id,amount,customer_avg_amount,merchant_category,hour,distance_km,txn_last_hour\n");
        var i = 0;
        foreach (var t in new TransactionGenerator(7).Generate(Rows))
        {
            text.Append(CultureInfo.InvariantCulture, $"t{i++},{t.Amount:R},{t.CustomerAvgAmount:R},{t.MerchantCategory:R},{t.Hour:R},{t.DistanceKm:R},{t.TxnLastHour:R}\n");
        }

        File.WriteAllText(Path.Combine(_work, "in.csv"), text.ToString());
    }

    public void Dispose()
    {
        _repository.Dispose();
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task A_due_batch_job_scores_its_input_and_GET_v2_jobs_lists_the_run()
    {
        await using var server = await StartAsync();
        var scheduler = server.Services.GetRequiredService<JobScheduler>();
        await scheduler.Started;
        _time.Advance(TimeSpan.FromMinutes(5));
        await scheduler.Running("nightly");

        var output = Path.Combine(_work, "out", "scores-20261205T000500Z.jsonl");
        Assert.Equal(Rows, File.ReadAllLines(output).Length);
        using var http = new HttpClient { BaseAddress = server.HttpUri };
        using var list = JsonDocument.Parse(await http.GetStringAsync("/v2/jobs"));
        var job = Assert.Single(list.RootElement.GetProperty("jobs").EnumerateArray());
        Assert.Equal(("nightly", "batch", "*/5 * * * *", "fraud", "2026-12-05T00:10:00+00:00", false), (job.GetProperty("name").GetString(), job.GetProperty("kind").GetString(), job.GetProperty("cron").GetString(), job.GetProperty("model").GetString(), job.GetProperty("next_run").GetString(), job.GetProperty("running").GetBoolean()));
        var run = Assert.Single(job.GetProperty("runs").EnumerateArray());
        Assert.Equal(("nightly@20261205T000500Z", "succeeded", (long)Rows, 0L, output), (run.GetProperty("id").GetString(), run.GetProperty("status").GetString(), run.GetProperty("rows").GetInt64(), run.GetProperty("errors").GetInt64(), run.GetProperty("output").GetString()));
        Assert.True(run.GetProperty("cost_cpu_seconds").GetDouble() > 0);

        using var one = JsonDocument.Parse(await http.GetStringAsync("/v2/jobs/nightly"));
        Assert.Equal(job.GetRawText(), one.RootElement.GetRawText());

        var missing = await http.GetAsync("/v2/jobs/weekly");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("""{"error":"unknown job 'weekly'; the jobs are nightly"}""", await missing.Content.ReadAsStringAsync());
        await server.StopAsync();
    }

    [Fact]
    public async Task A_restart_marks_the_run_left_running_interrupted_and_finishes_it_with_resume()
    {
        var state = Path.Combine(_work, "state");
        Directory.CreateDirectory(state);
        var output = Path.Combine(_work, "out", "scores-20261205T000500Z.jsonl");
        await using (var killed = await StartAsync())
        {
            // The 00:05 run commits its first part of 100 rows, then fails at the second (a commit hook throwing a full disk's error).
            var job = killed.Services.GetRequiredService<JobScheduler>().Jobs[0];
            var options = job.ToBatchOptions(Midnight.AddMinutes(5), resume: false);
            options.CommitHook = (stage, parts) =>
            {
                if (stage == Batch.BatchCommitStage.BeforeRename && parts == 2)
                {
                    throw new IOException("No space left on device", 28); // ENOSPC, as .NET reports a full disk on Linux
                }
            };
            var error = await Assert.ThrowsAsync<Core.Errors.ProntoException>(() => Batch.BatchJob.RunAsync(killed.Services.GetRequiredService<Core.Inference.InferenceService>(), options));
            Assert.StartsWith("no space left on device while writing part 1 ", error.Message, StringComparison.Ordinal);

            await killed.StopAsync();
        }

        Assert.False(File.Exists(output));
        // What a server killed during that run leaves behind: the run recorded as running, one part committed.
        new JobStore(state).Record(new JobRun { Id = "nightly@20261205T000500Z", Job = "nightly", Scheduled = Midnight.AddMinutes(5), Status = JobStatus.Running, Started = Midnight.AddMinutes(5), Output = output });
        _time.Advance(TimeSpan.FromMinutes(7));

        await using var server = await StartAsync();
        var scheduler = server.Services.GetRequiredService<JobScheduler>();
        await scheduler.Started;
        await scheduler.Running("nightly");

        // Exactly once: the resumed run scores only the 150 rows past the committed part; the output holds every row once, in order.
        Assert.Equal(Enumerable.Range(0, Rows).Select(i => $"t{i}"), File.ReadAllLines(output).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString()));
        var runs = new JobStore(state).RunsOf("nightly");
        Assert.Equal(
            [("nightly@20261205T000500Z+resume", "succeeded", 150L), ("nightly@20261205T000500Z", "interrupted", 0L)],
            runs.Select(r => (r.Id, r.Status, r.Rows)));
        Assert.Equal(Midnight.AddMinutes(10), scheduler.NextRun("nightly"));
        await server.StopAsync();
    }

    private Task<ProntoServer> StartAsync() => ServerFixture.StartAsync(
        options =>
        {
            options.ModelRepository = _repository.Root;
            options.StateDirectory = Path.Combine(_work, "state");
            options.Jobs.Add(new ScheduledJobOptions
            {
                Name = "nightly",
                Cron = "*/5 * * * *",
                Model = "fraud",
                Input = Path.Combine(_work, "in.csv"),
                Output = Path.Combine(_work, "out", "scores-{time}.jsonl"),
                PartRows = 100,
            });
        },
        _time);
}
