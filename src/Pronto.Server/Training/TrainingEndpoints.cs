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
/// <c>?wait=true</c> answers when the job has ended; <c>DELETE /v2/repository/training/{id}</c> cancels a job. The data is
/// a server path (<c>"data"</c> in a JSON body) or uploaded: a <c>multipart/form-data</c> body with a <c>file</c> part (a
/// .csv, .jsonl, .parquet table, or a .zip of an ImageFolder or of a table with its images) and an optional
/// <c>request</c> part holding the JSON fields without <c>data</c>.
/// </summary>
internal static class TrainingEndpoints
{
    private const int MaxBodyBytes = 1 << 20;

    public static void MapProntoTraining(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v2/repository").WithTags("Training jobs");
        group.MapPost("/models/{model}/finetune", (HttpContext c, TrainingJobs jobs, string model) => SubmitAsync(c, jobs, model, TrainingRequest.Finetune))
            .WithSummary("Fine-tune a classifier head on a base model's embeddings (admin key): {\"base\", \"data\" (a server path, or a multipart upload: file + request parts), \"text_column\"|\"image_column\", \"label_column\", \"test_fraction\", \"seed\", \"force\"}.");
        group.MapPost("/models/{model}/train", (HttpContext c, TrainingJobs jobs, string model) => SubmitAsync(c, jobs, model, TrainingRequest.Train))
            .WithSummary("Train a model on a table (admin key): {\"data\" (a server path, or a multipart upload: file + request parts), \"label\", \"task\", \"features\", \"test_fraction\", \"seed\", \"force\"}.");
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
        group.MapDelete("/training/{id}", async (HttpContext c, TrainingJobs jobs, string id) =>
        {
            var job = jobs.Cancel(id);
            await JsonResponse.WriteAsync(c, StatusCodes.Status202Accepted, w => Write(w, job));
        }).WithSummary("Cancel a queued or running training job: it writes nothing; 409 once it has ended (admin key).");
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
        string? upload = null;
        if (context.Request.HasFormContentType)
        {
            (request, upload) = await ReceiveUploadAsync(context, model, kind);
        }
        else
        {
            using var body = await RequestBody.ReadAsync(context.Request, MaxBodyBytes, context.RequestAborted);
            request = Parse(body.Memory.Span, model, kind, uploaded: null);
        }

        TrainingJob job;
        try
        {
            job = jobs.Submit(request, upload);
        }
        catch when (upload is not null)
        {
            Directory.Delete(upload, recursive: true); // no job owns it (a server without a trainer)
            throw;
        }

        context.Response.Headers.Location = $"/v2/repository/training/{job.Id}";
        await JsonResponse.WriteAsync(context, StatusCodes.Status202Accepted, w => Write(w, job));
    }

    /// <summary>
    /// A multipart submission: the <c>file</c> part saved (a .zip extracted) into a fresh folder under the system's
    /// temporary folder that the job owns, the <c>request</c> part parsed as the JSON body with that data. Anything
    /// wrong deletes the folder and is a 400.
    /// </summary>
    private static async Task<(TrainingRequest Request, string Upload)> ReceiveUploadAsync(HttpContext context, string model, string kind)
    {
        IFormCollection form;
        try
        {
            form = await context.Request.ReadFormAsync(context.RequestAborted);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            return ProntoErrors.InvalidArgument<(TrainingRequest, string)>($"the upload is not a readable multipart/form-data body: {e.Message}");
        }

        var unknown = form.Keys.Concat(form.Files.Select(f => f.Name)).Where(k => k is not ("request" or "file")).Distinct(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
        {
            ProntoErrors.InvalidArgument($"unknown part '{unknown[0]}' in the upload; the parts are 'file' (the data) and 'request' (the JSON fields)");
        }

        var file = form.Files.GetFile("file") ?? ProntoErrors.InvalidArgument<IFormFile>("the upload has no 'file' part (the data)");
        var name = Path.GetFileName(file.FileName);
        var extension = Path.GetExtension(name).ToLowerInvariant();
        if (extension != ".zip" && Batch.Input.InputSource.FormatOf(name) is null)
        {
            ProntoErrors.InvalidArgument($"uploaded file '{name}': use a .csv, .jsonl or .parquet table, or a .zip of an image folder or of a table with its images");
        }

        var upload = Directory.CreateTempSubdirectory("pronto-training-upload-").FullName;
        try
        {
            var saved = Path.Combine(upload, name);
            await using (var target = File.Create(saved))
            {
                await file.CopyToAsync(target, context.RequestAborted);
            }

            var data = extension == ".zip" ? Extract(saved, Path.Combine(upload, "data")) : saved;
            var json = form.TryGetValue("request", out var text) ? text.ToString() : "{}";
            return (Parse(System.Text.Encoding.UTF8.GetBytes(json.Length == 0 ? "{}" : json), model, kind, uploaded: data), upload);
        }
        catch
        {
            Directory.Delete(upload, recursive: true);
            throw;
        }
    }

    /// <summary>Extracts <paramref name="zip"/>; the data is its one table at the top level if it has one, else the folder (an ImageFolder).</summary>
    private static string Extract(string zip, string folder)
    {
        try
        {
            System.IO.Compression.ZipFile.ExtractToDirectory(zip, folder);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            ProntoErrors.InvalidArgument($"uploaded file '{Path.GetFileName(zip)}' is not a readable .zip archive: {e.Message}");
        }

        var tables = Directory.GetFiles(folder).Where(f => Batch.Input.InputSource.FormatOf(f) is not null).ToArray();
        return tables.Length switch
        {
            0 => folder,
            1 => tables[0],
            _ => ProntoErrors.InvalidArgument<string>($"uploaded file '{Path.GetFileName(zip)}' holds {tables.Length} tables at its top level; give one"),
        };
    }

    private static TrainingRequest Parse(ReadOnlySpan<byte> body, string model, string kind, string? uploaded)
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
                Data = uploaded is null ? Required("data")
                    : root.TryGetProperty("data", out _) ? ProntoErrors.InvalidArgument<string>("give 'data' (a server path) or upload a file, not both") : uploaded,
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

        if (job.Progress is { } progress)
        {
            w.WriteStartObject("progress");
            w.WriteString("stage", progress.Stage);
            w.WriteNumber("done", progress.Done);
            w.WriteNumber("total", progress.Total);
            w.WriteEndObject();
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
