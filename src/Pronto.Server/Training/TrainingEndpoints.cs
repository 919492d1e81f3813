using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Pronto.Core.Errors;
using Pronto.Server.Http;

namespace Pronto.Server.Training;

/// <summary>
/// The training job API, under /v2/repository (so behind the admin key, like load and unload):
/// <c>POST /v2/repository/models/{name}/finetune</c> and <c>/train</c> start a job (202 + its id and Location),
/// <c>GET /v2/repository/training</c> lists jobs, <c>GET /v2/repository/training/{id}</c> gives one (status, report);
/// <c>?wait=true</c> answers when the job has ended.
/// </summary>
internal static class TrainingEndpoints
{
    private const int MaxBodyBytes = 1 << 20;

    public static void MapProntoTraining(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v2/repository").WithTags("Training jobs");
        group.MapPost("/models/{model}/finetune", (HttpContext c, TrainingJobs jobs, string model) => SubmitAsync(c, jobs, model, TrainingRequest.Finetune))
            .WithSummary("Fine-tune a classifier head on a base model's embeddings (admin key): {\"base\", \"data\" (a server path), \"text_column\"|\"image_column\", \"label_column\", \"test_fraction\", \"seed\", \"force\"}.");
        group.MapPost("/models/{model}/train", (HttpContext c, TrainingJobs jobs, string model) => SubmitAsync(c, jobs, model, TrainingRequest.Train))
            .WithSummary("Train a model on a table (admin key): {\"data\" (a server path), \"label\", \"task\", \"features\", \"test_fraction\", \"seed\", \"force\"}.");
        group.MapGet("/training", (HttpContext c, TrainingJobs jobs) => JsonResponse.WriteAsync(c, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("jobs");
            foreach (var job in jobs.Jobs)
            {
                Write(w, job);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        })).WithSummary("Training jobs, oldest first (admin key).");
        group.MapGet("/training/{id}", async (HttpContext c, TrainingJobs jobs, string id, bool? wait) =>
        {
            var job = jobs.Find(id) ?? throw new ProntoException(ErrorCode.NotFound, $"unknown training job '{id}'");
            if (wait == true)
            {
                await job.Completion.WaitAsync(c.RequestAborted);
            }

            await JsonResponse.WriteAsync(c, StatusCodes.Status200OK, w => Write(w, job));
        }).WithSummary("One training job: status, and its report once it has ended; ?wait=true answers when it has (admin key).");
    }

    private static async Task SubmitAsync(HttpContext context, TrainingJobs jobs, string model, string kind)
    {
        TrainingRequest request;
        using (var body = await RequestBody.ReadAsync(context.Request, MaxBodyBytes, context.RequestAborted))
        {
            request = Parse(body.Memory.Span, model, kind);
        }

        var job = jobs.Submit(request);
        context.Response.Headers.Location = $"/v2/repository/training/{job.Id}";
        await JsonResponse.WriteAsync(context, StatusCodes.Status202Accepted, w => Write(w, job));
    }

    private static TrainingRequest Parse(ReadOnlySpan<byte> body, string model, string kind)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.ToArray());
        }
        catch (JsonException e)
        {
            return ProntoErrors.InvalidArgument<TrainingRequest>($"the training request is not valid JSON: {e.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                ProntoErrors.InvalidArgument("the training request must be a JSON object");
            }

            string[] known = kind == TrainingRequest.Finetune
                ? ["base", "data", "text_column", "image_column", "label_column", "test_fraction", "seed", "force"]
                : ["data", "label", "task", "features", "test_fraction", "seed", "force"];
            foreach (var property in root.EnumerateObject())
            {
                if (Array.IndexOf(known, property.Name) < 0)
                {
                    ProntoErrors.InvalidArgument($"unknown field '{property.Name}' in a {kind} request; the fields are {string.Join(", ", known)}");
                }
            }

            string? Text(string name) => root.TryGetProperty(name, out var v)
                ? v.ValueKind == JsonValueKind.String ? v.GetString() : ProntoErrors.InvalidArgument<string>($"'{name}' must be a string")
                : null;
            string Required(string name) => Text(name) is { Length: > 0 } value ? value : ProntoErrors.InvalidArgument<string>($"a {kind} request needs '{name}'");

            return new TrainingRequest
            {
                Kind = kind,
                Model = model,
                Data = Required("data"),
                BaseModel = kind == TrainingRequest.Finetune ? Required("base") : null,
                TextColumn = Text("text_column"),
                ImageColumn = Text("image_column"),
                LabelColumn = kind == TrainingRequest.Finetune ? Text("label_column") : Required("label"),
                Task = Text("task"),
                Features = root.TryGetProperty("features", out var f)
                    ? f.ValueKind == JsonValueKind.Array && f.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)
                        ? [.. f.EnumerateArray().Select(e => e.GetString()!)]
                        : ProntoErrors.InvalidArgument<IReadOnlyList<string>>("'features' must be an array of column names")
                    : null,
                TestFraction = root.TryGetProperty("test_fraction", out var t)
                    ? t.ValueKind == JsonValueKind.Number ? t.GetDouble() : ProntoErrors.InvalidArgument<double>("'test_fraction' must be a number")
                    : null,
                Seed = root.TryGetProperty("seed", out var s)
                    ? s.ValueKind == JsonValueKind.Number && s.TryGetUInt64(out var seed) ? seed : ProntoErrors.InvalidArgument<ulong>("'seed' must be a non-negative integer")
                    : null,
                Force = root.TryGetProperty("force", out var force)
                    && (force.ValueKind is JsonValueKind.True or JsonValueKind.False ? force.GetBoolean() : ProntoErrors.InvalidArgument<bool>("'force' must be true or false")),
            };
        }
    }

    private static void Write(Utf8JsonWriter w, TrainingJob job)
    {
        w.WriteStartObject();
        w.WriteString("id", job.Id);
        w.WriteString("kind", job.Request.Kind);
        w.WriteString("model", job.Request.Model);
        w.WriteString("status", job.Status);
        w.WriteString("submitted", job.Submitted);
        if (job.Started is { } started)
        {
            w.WriteString("started", started);
        }

        if (job.Ended is { } ended)
        {
            w.WriteString("ended", ended);
        }

        if (job.Error is { } error)
        {
            w.WriteString("error", error);
        }

        if (job.Outcome is { } outcome)
        {
            w.WriteNumber("version", outcome.Version);
            w.WriteBoolean("promoted", outcome.Promoted);
            w.WriteString("reason", outcome.Reason);
            w.WritePropertyName("report");
            using var report = JsonDocument.Parse(outcome.ReportJson);
            report.RootElement.WriteTo(w);
        }

        w.WriteEndObject();
    }
}
