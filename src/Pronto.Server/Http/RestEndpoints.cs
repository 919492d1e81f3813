using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Protocol;
using Pronto.Core.Repository;
using Pronto.Server.Metrics;

namespace Pronto.Server.Http;

/// <summary>The Open Inference Protocol v2 REST routes (KServe / Triton), with the repository, statistics and configuration extensions.</summary>
internal static class RestEndpoints
{
    /// <remarks>
    /// A handler shaped like a RequestDelegate (<c>Task (HttpContext)</c>) is mapped as one and left out of the
    /// OpenAPI document, so those that need nothing else take a service parameter to stay described.
    /// </remarks>
    public static void MapProntoRest(this IEndpointRouteBuilder app)
    {
        var v2 = app.MapGroup("/v2").WithTags("Open Inference Protocol v2");
        v2.MapGet("/health/live", () => Results.Ok()).WithSummary("200 while the process serves.");
        v2.MapGet("/health/ready", (HttpContext c, ModelRepository repository, ServerState state) => Ready(c, repository, state)).WithSummary("200 when every model has finished loading and is ready (Triton's strict readiness), else 503; 503 once the server is stopping.");
        v2.MapGet("/", (HttpContext c, ProntoServerOptions _) => ServerMetadata(c)).WithSummary("Server name, version and protocol extensions.");
        v2.MapGet("/models/{model}", (HttpContext c, string model) => ModelMetadata(c, model, null)).WithSummary("Model metadata: versions, platform, inputs and outputs.");
        v2.MapGet("/models/{model}/versions/{version}", ModelMetadata).WithSummary("Metadata of one version.");
        v2.MapGet("/models/{model}/ready", (HttpContext c, string model) => ModelReady(c, model, null)).WithSummary("200 when the model can serve, 503 when not, 404 when unknown.");
        v2.MapGet("/models/{model}/versions/{version}/ready", ModelReady);
        v2.MapPost("/models/{model}/infer", (HttpContext c, string model) => Infer(c, model, null))
            .WithSummary("Inference: a JSON body, or JSON then binary tensors (Inference-Header-Content-Length).");
        v2.MapPost("/models/{model}/versions/{version}/infer", Infer);
        v2.MapGet("/models/{model}/config", ModelConfigRoute).WithSummary("The model's configuration in Triton's JSON form.");
        v2.MapGet("/models/stats", (HttpContext c, ModelRepository _) => Statistics(c, null, null)).WithSummary("Statistics of every ready model version.");
        v2.MapGet("/models/{model}/stats", (HttpContext c, string model) => Statistics(c, model, null));
        v2.MapGet("/models/{model}/versions/{version}/stats", Statistics);
        v2.MapPost("/repository/index", (HttpContext c, ModelRepository repository) => RepositoryIndex(c, repository)).WithSummary("Every model of the repository and its state (admin key).");
        v2.MapPost("/repository/models/{model}/load", Load).WithSummary("Load or reload a model (admin key).");
        v2.MapPost("/repository/models/{model}/unload", Unload).WithSummary("Unload a model after its in-flight requests (admin key).");
    }

    private static Task Ready(HttpContext context, ModelRepository repository, ServerState state)
    {
        context.Response.StatusCode = state.ModelsLoaded && !state.Draining && repository.AllReady() ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        return Task.CompletedTask;
    }

    private static Task ServerMetadata(HttpContext context) => JsonResponse.WriteAsync(context, StatusCodes.Status200OK, ModelJson.WriteServerMetadata);

    private static Task ModelMetadata(HttpContext context, string model, string? version)
    {
        var repository = context.RequestServices.GetRequiredService<ModelRepository>();
        using var lease = repository.Acquire(model, version);
        var versions = repository.Index().Where(s => s.Name == model).ToList();
        var served = lease.Model;
        return JsonResponse.WriteAsync(context, StatusCodes.Status200OK, w => ModelJson.WriteModelMetadata(w, served, versions));
    }

    private static Task ModelReady(HttpContext context, string model, string? version)
    {
        // Servable: ready now, or loads on the request (scale to zero); nothing is loaded to answer this.
        var repository = context.RequestServices.GetRequiredService<ModelRepository>();
        if (repository.IsServable(model, version))
        {
            context.Response.StatusCode = StatusCodes.Status200OK;
            return Task.CompletedTask;
        }

        try
        {
            using var lease = repository.Acquire(model, version);
            context.Response.StatusCode = StatusCodes.Status200OK;
        }
        catch (ProntoException e) when (e.Code == ErrorCode.Unavailable)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        }

        return Task.CompletedTask;
    }

    private static Task ModelConfigRoute(HttpContext context, string model)
    {
        using var lease = context.RequestServices.GetRequiredService<ModelRepository>().Acquire(model);
        var config = lease.Model.Config;
        return JsonResponse.WriteAsync(context, StatusCodes.Status200OK, w => ModelJson.WriteConfig(w, config));
    }

    private static Task Statistics(HttpContext context, string? model, string? version)
    {
        var repository = context.RequestServices.GetRequiredService<ModelRepository>();
        IReadOnlyList<ServedModel> models;
        if (model is null)
        {
            models = repository.ReadyModels();
        }
        else
        {
            using var lease = repository.Acquire(model, version);
            models = version is null ? repository.ReadyModels().Where(m => m.Name == model).ToList() : [lease.Model];
        }

        var price = context.RequestServices.GetRequiredService<ProntoServerOptions>().PricePerCpuHour;
        return JsonResponse.WriteAsync(context, StatusCodes.Status200OK, w => ModelJson.WriteStatistics(w, models, price));
    }

    /// <summary>Microseconds the request waited in the dynamic batcher's queue (batched models only).</summary>
    public const string QueueTimeHeader = "Pronto-Queue-Time-Us";

    /// <summary>Rows in the engine execution the request ran in (batched models only).</summary>
    public const string BatchSizeHeader = "Pronto-Batch-Size";

    private static async Task Infer(HttpContext context, string model, string? version)
    {
        var options = context.RequestServices.GetRequiredService<ProntoServerOptions>();
        var service = context.RequestServices.GetRequiredService<InferenceService>();
        var metrics = context.RequestServices.GetRequiredService<ServerMetrics>();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();

        using var body = await RequestBody.ReadAsync(context.Request, options.MaxRequestBodyBytes, context.RequestAborted);
        var limits = new JsonLimits { MaxDepth = options.MaxJsonDepth, MaxTensorElements = options.MaxTensorElements };
        var parsed = InferenceJson.ReadRequest(body.Memory, body.JsonLength(context.Request), model, version, limits);
        var response = await service.InferAsync(parsed.Request, context.RequestAborted);
        if (response is { QueueTime: { } queueTime, BatchSize: { } batchSize })
        {
            context.Response.Headers[QueueTimeHeader] = (queueTime.Ticks / TimeSpan.TicksPerMicrosecond).ToString(System.Globalization.CultureInfo.InvariantCulture);
            context.Response.Headers[BatchSizeHeader] = batchSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var binary = InferenceJson.BinaryOutputs(parsed, response);
        var buffer = new ArrayBufferWriter<byte>(4096);
        var jsonLength = InferenceJson.WriteResponse(buffer, response, binary);
        if (buffer.WrittenCount > jsonLength)
        {
            context.Response.ContentType = "application/octet-stream";
            context.Response.Headers["Inference-Header-Content-Length"] = jsonLength.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else
        {
            context.Response.ContentType = "application/json";
        }

        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
        metrics.ObserveRequest(response.ModelName, "http", started);
    }

    private static async Task RepositoryIndex(HttpContext context, ModelRepository repository)
    {
        var readyOnly = false;
        if (context.Request.ContentLength > 0)
        {
            // Body: {"ready": true} lists only ready models.
            using var reader = new StreamReader(context.Request.Body);
            var text = await reader.ReadToEndAsync(context.RequestAborted);
            try
            {
                using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 4 });
                readyOnly = doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("ready", out var r) && r.ValueKind == JsonValueKind.True;
            }
            catch (JsonException e)
            {
                ProntoErrors.InvalidArgument($"malformed JSON: {e.Message}");
            }
        }

        var rows = repository.Index().Where(r => !readyOnly || r.State == ModelState.Ready).ToList();
        await JsonResponse.WriteAsync(context, StatusCodes.Status200OK, w => ModelJson.WriteIndex(w, rows));
    }

    private static async Task Load(HttpContext context, string model)
    {
        var repository = context.RequestServices.GetRequiredService<ModelRepository>();
        repository.ModelDirectory(model);
        await Task.Run(() => repository.Load(model, context.RequestAborted), context.RequestAborted);
        context.Response.StatusCode = StatusCodes.Status200OK;
    }

    private static Task Unload(HttpContext context, string model)
    {
        var repository = context.RequestServices.GetRequiredService<ModelRepository>();
        repository.ModelDirectory(model);
        repository.Unload(model);
        context.Response.StatusCode = StatusCodes.Status200OK;
        return Task.CompletedTask;
    }
}
