using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Pronto.Core.Errors;
using Pronto.Core.Generation;
using Pronto.Core.Repository;

namespace Pronto.Server.Http;

/// <summary>
/// vLLM's tokenizer routes over generative models: <c>POST /tokenize</c> (a <c>prompt</c>, or chat <c>messages</c>
/// rendered with the model's chat template exactly as /v1/chat/completions renders them) answers
/// <c>{"count", "max_model_len", "tokens"}</c> (and <c>token_strs</c> with <c>return_token_strs</c>);
/// <c>POST /detokenize</c> turns <c>tokens</c> back into <c>{"prompt"}</c>. Clients count tokens and check a prompt
/// against the context with them before they send it. Errors are OpenAI error objects; API keys apply as on /v1.
/// </summary>
internal static class TokenizeRoutes
{
    public static void MapTokenizeRoutes(this IEndpointRouteBuilder app)
    {
        app.MapPost("/tokenize", Tokenize).WithTags("vLLM tokenizer")
            .WithSummary("Token ids of a prompt or of chat messages (the model's chat template): {\"count\", \"max_model_len\", \"tokens\"}.");
        app.MapPost("/detokenize", Detokenize).WithTags("vLLM tokenizer")
            .WithSummary("The text of token ids: {\"prompt\"}.");
    }

    /// <summary>The paths these routes serve (API keys and OpenAI's error shape cover them as /v1).</summary>
    public static bool Covers(PathString path) => path.StartsWithSegments("/tokenize") || path.StartsWithSegments("/detokenize");

    private static async Task Tokenize(HttpContext context)
    {
        using var doc = await ReadAsync(context);
        var root = doc.RootElement;
        using var lease = Acquire(context, root);
        var model = lease.Model.Generative!;
        int[] ids;
        if (root.TryGetProperty("messages", out _))
        {
            var addGenerationPrompt = OpenAiFields.Bool(root, "add_generation_prompt") ?? true;
            var continueFinal = OpenAiFields.Bool(root, "continue_final_message") ?? false;
            if (continueFinal && addGenerationPrompt)
            {
                ProntoErrors.InvalidArgument("'continue_final_message' and 'add_generation_prompt' cannot both be true: set 'add_generation_prompt' to false to continue the last message");
            }

            var text = model.ChatTemplate.Render(model.Name, GenerationRequest.ReadMessages(root), addGenerationPrompt, continueFinal);
            ids = OpenAiFields.Bool(root, "add_special_tokens") ?? false ? model.Tokenizer.EncodePrompt(text) : model.Tokenizer.Encode(text);
        }
        else
        {
            var prompt = root.TryGetProperty("prompt", out var p) && p.ValueKind == JsonValueKind.String
                ? p.GetString()!
                : ProntoErrors.InvalidArgument<string>("'prompt' (a string) or 'messages' is required");
            ids = OpenAiFields.Bool(root, "add_special_tokens") ?? true ? model.Tokenizer.EncodePrompt(prompt) : model.Tokenizer.Encode(prompt);
        }

        var strings = OpenAiFields.Bool(root, "return_token_strs") ?? false;
        await JsonResponse.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteNumber("count"u8, ids.Length);
            w.WriteNumber("max_model_len"u8, model.ContextLength);
            w.WriteStartArray("tokens"u8);
            foreach (var id in ids)
            {
                w.WriteNumberValue(id);
            }

            w.WriteEndArray();
            if (strings)
            {
                w.WriteStartArray("token_strs"u8);
                foreach (var id in ids)
                {
                    w.WriteStringValue(model.Tokenizer.TokenText(id));
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
        });
    }

    private static async Task Detokenize(HttpContext context)
    {
        using var doc = await ReadAsync(context);
        var root = doc.RootElement;
        using var lease = Acquire(context, root);
        var model = lease.Model.Generative!;
        var ids = root.TryGetProperty("tokens", out var tokens) && tokens.ValueKind == JsonValueKind.Array
            ? GenerationRequest.ReadIds(tokens, "tokens")
            : ProntoErrors.InvalidArgument<int[]>("'tokens' is required: an array of token ids");
        foreach (var id in ids)
        {
            if (id < 0 || id >= model.Engine.VocabSize)
            {
                ProntoErrors.InvalidArgument($"token id {id} is outside the vocabulary of model '{model.Name}' (0 to {model.Engine.VocabSize - 1})");
            }
        }

        var text = model.Tokenizer.Decode(ids);
        await JsonResponse.WriteAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteString("prompt"u8, text);
            w.WriteEndObject();
        });
    }

    private static async Task<JsonDocument> ReadAsync(HttpContext context)
    {
        var options = context.RequestServices.GetRequiredService<ProntoServerOptions>();
        using var body = await RequestBody.ReadAsync(context.Request, options.MaxRequestBodyBytes, context.RequestAborted);
        try
        {
            var doc = JsonDocument.Parse(body.Memory);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                doc.Dispose();
                ProntoErrors.InvalidArgument("the body must be a JSON object with 'model'");
            }

            return doc;
        }
        catch (JsonException e)
        {
            return ProntoErrors.InvalidArgument<JsonDocument>($"malformed JSON: {e.Message}");
        }
    }

    /// <summary>The named generative model, leased for the request.</summary>
    private static ModelLease Acquire(HttpContext context, JsonElement root)
    {
        var name = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String
            ? m.GetString()!
            : ProntoErrors.InvalidArgument<string>("'model' is required: the name of a generative model");
        var lease = context.RequestServices.GetRequiredService<ModelRepository>().Acquire(name);
        if (lease.Model.Generative is null)
        {
            lease.Dispose();
            ProntoErrors.InvalidArgument($"model '{name}' is not a generative model");
        }

        return lease;
    }
}
