using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Pronto.Core.Errors;
using Pronto.Server.Http;

namespace Pronto.Server.Jobs;

/// <summary>
/// The jobs API. Read: <c>GET /v2/jobs</c> and <c>GET /v2/jobs/{name}</c> (each job, its schedule, next run and recent
/// runs; behind API keys like the other /v2 routes). Admin (<see cref="ApiKeyMiddleware"/>: the admin API on and an
/// admin key): <c>POST /v2/jobs</c> adds a job, <c>PUT /v2/jobs/{name}</c> changes one added so,
/// <c>DELETE /v2/jobs/{name}</c> removes one, <c>POST /v2/jobs/{name}/run</c> runs one now and
/// <c>POST /v2/jobs/{name}/cancel</c> cancels its run in progress.
/// </summary>
internal static class JobEndpoints
{
    /// <summary>Runs listed per job, newest first; the history file keeps them all.</summary>
    public const int RecentRuns = 20;

    /// <summary>A job's JSON is small; a larger body is not a job.</summary>
    private const int MaxJobBytes = 1 << 20;

    public static void MapProntoJobs(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v2/jobs", (HttpContext c, JobScheduler scheduler) => JsonResponse.WriteAsync(c, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("jobs");
            foreach (var job in scheduler.Jobs)
            {
                WriteJob(w, scheduler, job);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        })).WithSummary("Scheduled jobs: schedule, next run, recent runs (newest first).");
        app.MapGet("/v2/jobs/{name}", (HttpContext c, JobScheduler scheduler, string name) =>
        {
            var job = scheduler.Find(name) ?? throw scheduler.UnknownJob(name);
            return JsonResponse.WriteAsync(c, StatusCodes.Status200OK, w => WriteJob(w, scheduler, job));
        }).WithSummary("One scheduled job: schedule, next run, recent runs (newest first).");
        app.MapPost("/v2/jobs", AddAsync).WithSummary("Add a scheduled job, as in the settings (admin key); kept across restarts.");
        app.MapPut("/v2/jobs/{name}", ReplaceAsync).WithSummary("Change a job added through the API (admin key); a run in progress keeps its definition, the next run has the new one.");
        app.MapPost("/v2/jobs/{name}/cancel", (HttpContext c, JobScheduler scheduler, string name) =>
        {
            var run = scheduler.Cancel(name);
            c.Response.Headers.Location = $"/v2/jobs/{name}";
            return JsonResponse.WriteAsync(c, StatusCodes.Status202Accepted, w => JsonSerializer.Serialize(w, run, JobJsonContext.Run));
        }).WithSummary("Cancel a job's run in progress (admin key); it is recorded cancelled when its work stops; 409 when none is going.");
        app.MapDelete("/v2/jobs/{name}", (HttpContext c, JobScheduler scheduler, string name) =>
        {
            scheduler.Remove(name);
            c.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        }).WithSummary("Remove a job added through the API (admin key); its runs stay in the history.");
        app.MapPost("/v2/jobs/{name}/run", (HttpContext c, JobScheduler scheduler, string name) =>
        {
            var run = scheduler.RunNow(name);
            c.Response.Headers.Location = $"/v2/jobs/{name}";
            return JsonResponse.WriteAsync(c, StatusCodes.Status202Accepted, w => JsonSerializer.Serialize(w, run, JobJsonContext.Run));
        }).WithSummary("Run a job now, outside its schedule (admin key); 409 while a run is in progress.");
    }

    private static async Task AddAsync(HttpContext c, JobScheduler scheduler)
    {
        var job = await ReadJobAsync(c);
        scheduler.Add(job);
        c.Response.Headers.Location = $"/v2/jobs/{job.Name}";
        await JsonResponse.WriteAsync(c, StatusCodes.Status201Created, w => WriteJob(w, scheduler, job));
    }

    private static async Task ReplaceAsync(HttpContext c, JobScheduler scheduler, string name)
    {
        var job = await ReadJobAsync(c);
        if (string.IsNullOrEmpty(job.Name))
        {
            job.Name = name;
        }
        else if (job.Name != name)
        {
            ProntoErrors.InvalidArgument($"the body's name '{job.Name}' is not the job's '{name}'; a job cannot be renamed (add it under the new name and delete the old one)");
        }

        scheduler.Replace(job);
        await JsonResponse.WriteAsync(c, StatusCodes.Status200OK, w => WriteJob(w, scheduler, job));
    }

    private static async Task<ScheduledJobOptions> ReadJobAsync(HttpContext c)
    {
        using var body = new MemoryStream();
        await c.Request.Body.CopyToAsync(body, c.RequestAborted);
        if (body.Length > MaxJobBytes)
        {
            ProntoErrors.InvalidArgument($"the body is {body.Length} bytes; a job is at most {MaxJobBytes}");
        }

        ScheduledJobOptions? job;
        try
        {
            job = JsonSerializer.Deserialize(body.GetBuffer().AsSpan(0, (int)body.Length), JobJsonContext.Info<ScheduledJobOptions>(ApiJobFile.Json));
        }
        catch (JsonException e)
        {
            job = ProntoErrors.InvalidArgument<ScheduledJobOptions>($"the body is not a job's JSON object ({{\"name\", \"cron\", \"kind\", ...}} as in Pronto:Jobs): {e.Message}");
        }

        if (job is null)
        {
            ProntoErrors.InvalidArgument("the body is not a job's JSON object: got null");
        }

        return job;
    }

    private static void WriteJob(Utf8JsonWriter w, JobScheduler scheduler, ScheduledJobOptions job)
    {
        w.WriteStartObject();
        w.WriteString("name", job.Name);
        w.WriteString("kind", job.Kind);
        w.WriteString("cron", job.Cron);
        w.WriteString("time_zone", job.Zone.Id);
        if (job.IsSql)
        {
            w.WriteString("sql", job.Sql);
            w.WriteString("database", job.Database);
        }
        else
        {
            w.WriteString("model", job.Model);
            w.WriteString("input", job.Input);
            w.WriteString("output", job.Output);
        }

        w.WriteString("missed_runs", job.MissedRuns ?? ScheduledJobOptions.SkipMissed);
        w.WriteString("source", scheduler.IsFromSettings(job.Name) ? "settings" : "api");
        if (scheduler.NextRun(job.Name) is { } next)
        {
            w.WriteString("next_run", next);
        }
        else
        {
            w.WriteNull("next_run");
        }

        w.WriteBoolean("running", !scheduler.Running(job.Name).IsCompleted);
        w.WriteStartArray("runs");
        foreach (var run in scheduler.Store.RunsOf(job.Name).Take(RecentRuns))
        {
            JsonSerializer.Serialize(w, run, JobJsonContext.Run);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }
}
