using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Processing;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Server.Metrics;

namespace Pronto.Server.Http;

/// <summary>
/// OpenAI-compatible routes for embedding models (a text preparer and an embedding producer), so the OpenAI
/// SDKs work against Pronto unchanged: <c>POST /v1/embeddings</c> and <c>GET /v1/models</c> (embedding and generative
/// models; generation is <see cref="OpenAiGeneration"/>). Failures propagate to
/// <see cref="ErrorMiddleware"/>, which answers every /v1 error in OpenAI's form (<see cref="OpenAiErrors"/>).
/// </summary>
internal static class OpenAiEndpoints
{
    public static void MapOpenAiRoutes(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1").WithTags("OpenAI-compatible");
        v1.MapPost("/embeddings", Embeddings).WithSummary("Embeddings of a string or an array of strings (encoding_format float or base64).");
        v1.MapGet("/models", Models).WithSummary("The embedding and generative models Pronto serves.");
    }

    private static async Task Embeddings(HttpContext context)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var options = context.RequestServices.GetRequiredService<ProntoServerOptions>();
        using var body = await RequestBody.ReadAsync(context.Request, options.MaxRequestBodyBytes, context.RequestAborted);
        var request = Parse(body.Memory.Span);
        if (request.Inputs.Length > options.MaxEmbeddingInputs)
        {
            // Bounded as OpenAI bounds it (2,048 inputs): one request must not hold the model for minutes.
            ProntoErrors.InvalidArgument($"'input' has {request.Inputs.Length} items; at most {options.MaxEmbeddingInputs} per request (Pronto:MaxEmbeddingInputs): send several requests");
        }

        var repository = context.RequestServices.GetRequiredService<ModelRepository>();
        var service = context.RequestServices.GetRequiredService<InferenceService>();
        string modelName;
        TextPreparer preparer;
        int maxBatch;
        using (var lease = repository.Acquire(request.Model))
        {
            modelName = lease.Model.Name;
            preparer = lease.Model.Processing.Preparer as TextPreparer
                ?? ProntoErrors.InvalidArgument<TextPreparer>($"model '{request.Model}' is not a text embedding model");
            if (lease.Model.Processing.Producer?.OutputName != "embedding")
            {
                ProntoErrors.InvalidArgument($"model '{request.Model}' is not a text embedding model");
            }

            maxBatch = Math.Max(1, lease.Model.Config.MaxBatchSize);
        }

        // Inputs beyond the model's max_batch_size run as several batches.
        var vectors = new List<float[]>(request.Inputs.Length);
        long tokens = 0;
        for (var start = 0; start < request.Inputs.Length; start += maxBatch)
        {
            var chunk = request.Inputs.AsSpan(start, Math.Min(maxBatch, request.Inputs.Length - start)).ToArray();
            var prepared = preparer.Prepare(Tensor.FromStrings(chunk));
            tokens += CountTokens(prepared);
            var response = await service.InferAsync(new InferenceRequest { ModelName = modelName, Inputs = prepared, Outputs = [new RequestedOutput("embedding")] }, context.RequestAborted);
            var embedding = response.Outputs[0].Tensor;
            var dim = (int)embedding.Shape[1];
            if (request.Dimensions is { } wanted && wanted != dim)
            {
                ProntoErrors.InvalidArgument($"model '{modelName}' makes {dim}-dimensional embeddings; 'dimensions' {wanted} is not supported");
            }

            var all = embedding.Span<float>();
            for (var i = 0; i < chunk.Length; i++)
            {
                vectors.Add(all.Slice(i * dim, dim).ToArray());
            }
        }

        await JsonResponse.WriteAsync(context, StatusCodes.Status200OK, w => WriteEmbeddings(w, modelName, vectors, request.Base64, tokens));
        context.RequestServices.GetRequiredService<ServerMetrics>().ObserveRequest(modelName, "openai", started);
    }

    private static Task Models(HttpContext context)
    {
        var models = context.RequestServices.GetRequiredService<ModelRepository>().ReadyModels()
            .Where(m => m.Generative is not null || (m.Processing.Preparer is TextPreparer && m.Processing.Producer?.OutputName == "embedding"))
            .Select(m => m.Name)
            .Distinct()
            .ToList();
        return JsonResponse.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteString("object"u8, "list"u8);
            w.WriteStartArray("data"u8);
            foreach (var name in models)
            {
                w.WriteStartObject();
                w.WriteString("id"u8, name);
                w.WriteString("object"u8, "model"u8);
                w.WriteNumber("created"u8, 0);
                w.WriteString("owned_by"u8, "pronto"u8);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static EmbeddingRequest Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 8 });
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                ProntoErrors.InvalidArgument("the body must be a JSON object with 'model' and 'input'");
            }

            var model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String
                ? m.GetString()!
                : ProntoErrors.InvalidArgument<string>("'model' is required: the name of an embedding model, e.g. minilm");
            if (!root.TryGetProperty("input", out var input))
            {
                ProntoErrors.InvalidArgument("'input' is required: a string or an array of strings");
            }

            string[] inputs = input.ValueKind switch
            {
                JsonValueKind.String => [input.GetString()!],
                JsonValueKind.Array => ReadStrings(input),
                _ => ProntoErrors.InvalidArgument<string[]>("'input' must be a string or an array of strings"),
            };
            var format = root.TryGetProperty("encoding_format", out var f) ? f.GetString() : "float";
            if (format is not ("float" or "base64"))
            {
                ProntoErrors.InvalidArgument($"'encoding_format' must be float or base64, got '{format}'");
            }

            var dimensions = OpenAiFields.Integer(root, "dimensions");
            if (dimensions < 1)
            {
                ProntoErrors.InvalidArgument($"'dimensions' must be at least 1, got {dimensions}");
            }

            return new EmbeddingRequest(model, inputs, format == "base64", dimensions);
        }
        catch (JsonException e)
        {
            return ProntoErrors.InvalidArgument<EmbeddingRequest>($"malformed JSON: {e.Message}");
        }
        catch (InvalidOperationException e)
        {
            return ProntoErrors.InvalidArgument<EmbeddingRequest>($"unexpected JSON value: {e.Message}");
        }
    }

    private static string[] ReadStrings(JsonElement array)
    {
        var count = array.GetArrayLength();
        if (count == 0)
        {
            ProntoErrors.InvalidArgument("'input' must not be an empty array");
        }

        var result = new string[count];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                // Token ids (an array of integers, or of integer arrays) are OpenAI's and not supported yet (501);
                // anything else (null, objects, text mixed with numbers, nested text) is a malformed request (400).
                if (i == 0 && IsTokenIds(array))
                {
                    ProntoErrors.Unsupported("'input' as token ids is not supported; send text (a string or an array of strings)");
                }

                ProntoErrors.InvalidArgument($"'input' element {i} is {Describe(item.ValueKind)}; send text (a string or an array of strings)");
            }

            result[i++] = item.GetString()!;
        }

        return result;
    }

    private static bool IsTokenIds(JsonElement array) =>
        array.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number)
        || array.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Array && e.GetArrayLength() > 0 && e.EnumerateArray().All(n => n.ValueKind == JsonValueKind.Number));

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Null => "null",
        JsonValueKind.Number => "a number",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "a boolean",
    };

    /// <summary>Tokens the model read: the attention mask's ones ([CLS] and [SEP] included), as OpenAI counts prompt tokens.</summary>
    private static long CountTokens(IReadOnlyList<NamedTensor> prepared)
    {
        foreach (var input in prepared)
        {
            if (input.Name == "attention_mask" && input.Tensor.DataType == DataType.Int64)
            {
                long sum = 0;
                foreach (var v in input.Tensor.Span<long>())
                {
                    sum += v;
                }

                return sum;
            }
        }

        return 0;
    }

    private static void WriteEmbeddings(Utf8JsonWriter w, string model, List<float[]> vectors, bool base64, long tokens)
    {
        w.WriteStartObject();
        w.WriteString("object"u8, "list"u8);
        w.WriteStartArray("data"u8);
        for (var i = 0; i < vectors.Count; i++)
        {
            w.WriteStartObject();
            w.WriteString("object"u8, "embedding"u8);
            w.WriteNumber("index"u8, i);
            if (base64)
            {
                // OpenAI's base64 form: the little-endian FP32 bytes of the vector.
                w.WriteBase64String("embedding"u8, MemoryMarshal.AsBytes(vectors[i].AsSpan()));
            }
            else
            {
                w.WriteStartArray("embedding"u8);
                foreach (var v in vectors[i])
                {
                    w.WriteNumberValue(v);
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteString("model"u8, model);
        w.WriteStartObject("usage"u8);
        w.WriteNumber("prompt_tokens"u8, tokens);
        w.WriteNumber("total_tokens"u8, tokens);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private sealed record EmbeddingRequest(string Model, string[] Inputs, bool Base64, int? Dimensions);
}
