using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Pronto.Core.Errors;
using Pronto.Server.Http;

namespace Pronto.Server.Jobs;

/// <summary><c>GET /v2/jobs</c> and <c>GET /v2/jobs/{name}</c>: each scheduled job, its schedule, next run and recent runs.</summary>
internal static class JobEndpoints
{
    /// <summary>Runs listed per job, newest first; the history file keeps them all.</summary>
    public const int RecentRuns = 20;

    public static void MapProntoJobs(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v2/jobs", (HttpContext c) => JsonResponse.WriteAsync(c, StatusCodes.Status200OK, w =>
        {
            var scheduler = c.RequestServices.GetService<JobScheduler>();
            w.WriteStartObject();
            w.WriteStartArray("jobs");
            foreach (var job in scheduler?.Jobs ?? [])
            {
                WriteJob(w, scheduler!, job);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        })).WithSummary("Scheduled jobs: schedule, next run, recent runs (newest first).");
        app.MapGet("/v2/jobs/{name}", (HttpContext c, string name) =>
        {
            var scheduler = c.RequestServices.GetService<JobScheduler>();
            var job = scheduler?.Jobs.FirstOrDefault(j => j.Name == name);
            if (job is null)
            {
                var names = scheduler is null || scheduler.Jobs.Count == 0 ? "none are scheduled" : "the jobs are " + string.Join(", ", scheduler.Jobs.Select(j => j.Name));
                ProntoErrors.NotFound($"unknown job '{name}'; {names}");
            }

            return JsonResponse.WriteAsync(c, StatusCodes.Status200OK, w => WriteJob(w, scheduler!, job!));
        }).WithSummary("One scheduled job: schedule, next run, recent runs (newest first).");
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
            JsonSerializer.Serialize(w, run);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }
}
