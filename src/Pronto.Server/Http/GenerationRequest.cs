using System.Text.Json;
using Pronto.Core.Errors;
using Pronto.Core.Generation;

namespace Pronto.Server.Http;

/// <summary>
/// The body of <c>POST /v1/completions</c> or <c>/v1/chat/completions</c>, read strictly enough that a parameter
/// Pronto would silently ignore (suffix, tools) is refused instead: 400 for a bad value, 501 for a
/// feature not built yet. Unknown fields are ignored, as OpenAI-compatible servers do.
/// </summary>
internal sealed class GenerationRequest
{
    /// <summary>OpenAI's default <c>max_tokens</c> for /v1/completions.</summary>
    public const int DefaultCompletionTokens = 16;

    /// <summary>The most choices per prompt (<c>n</c>); each is a sequence of its own in the engine's queue.</summary>
    public const int MaxChoices = 16;

    /// <summary>Choices per prompt (<c>n</c>, default 1).</summary>
    public int N { get; init; } = 1;

    /// <summary>Candidates generated per prompt (at least <see cref="N"/>); the N with the highest cumulative log-probability are returned.</summary>
    public int BestOf { get; init; } = 1;

    public required string Model { get; init; }

    /// <summary>Completions: one prompt per choice, text or token ids.</summary>
    public IReadOnlyList<Prompt> Prompts { get; init; } = [];

    /// <summary>Chat: the messages to render with the model's chat template.</summary>
    public IReadOnlyList<ChatMessage>? Messages { get; init; }

    /// <summary>Null: the route's default (16 for completions, the rest of the context for chat).</summary>
    public int? MaxTokens { get; init; }

    public required SamplingParameters Sampling { get; init; }

    /// <summary>The sampling fields the request gave (of <see cref="SamplingDefaults.Fields"/>): the model's defaults fill the others.</summary>
    public IReadOnlySet<string> GivenSampling { get; init; } = new HashSet<string>();

    public bool Stream { get; init; }

    public bool IncludeUsage { get; init; }

    /// <summary>vLLM's <c>return_token_ids</c>: each choice carries its <c>token_ids</c>, the prompt its <c>prompt_token_ids</c>.</summary>
    public bool ReturnTokenIds { get; init; }

    /// <summary>
    /// vLLM's <c>add_special_tokens</c>: a text prompt takes the special tokens of the tokenizer's post-processor (BOS);
    /// default true for completions, false for chat (the chat template writes its own). Token-id prompts are as given.
    /// </summary>
    public bool AddSpecialTokens { get; init; }

    /// <summary>
    /// vLLM's <c>prompt_logprobs: k</c>: the prompt's log-probabilities, each prompt token's (with its rank) and the k
    /// most likely alternatives, position by position (the first null), on each choice (completions) or the response (chat).
    /// </summary>
    public int? PromptLogprobs { get; init; }

    /// <summary>Completions' <c>echo</c>: each choice's text is its prompt's text, then the completion.</summary>
    public bool Echo { get; init; }

    /// <summary>
    /// <c>echo</c> with <c>max_tokens: 0</c>: each choice is its prompt alone (with <c>logprobs</c>, the prompt's
    /// log-probabilities), nothing generated: how evaluation harnesses score a text (lm-eval's loglikelihood).
    /// </summary>
    public bool EchoOnly => Echo && MaxTokens == 0;

    /// <summary>Chat (vLLM's <c>add_generation_prompt</c>, default true): the template opens the assistant's reply.</summary>
    public bool AddGenerationPrompt { get; init; } = true;

    /// <summary>
    /// Chat (vLLM's <c>continue_final_message</c>): the prompt ends inside the last message, which the model goes on
    /// writing (a reply the client began, "prefilled"); only with <c>add_generation_prompt: false</c>.
    /// </summary>
    public bool ContinueFinalMessage { get; init; }

    /// <summary>Chat's <c>echo</c> (vLLM's): the reply starts with the last message's content when that message has the reply's role.</summary>
    public bool EchoLastMessage { get; init; }

    /// <summary>A prompt as text or as token ids.</summary>
    public readonly record struct Prompt(string? Text, int[]? TokenIds);

    private static int? Max(int? a, int? b) => a is null ? b : b is null ? a : Math.Max(a.Value, b.Value);

    public static GenerationRequest Parse(ReadOnlySpan<byte> json, bool chat)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 16 });
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                ProntoErrors.InvalidArgument(chat ? "the body must be a JSON object with 'model' and 'messages'" : "the body must be a JSON object with 'model' and 'prompt'");
            }

            var model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String
                ? m.GetString()!
                : ProntoErrors.InvalidArgument<string>("'model' is required: the name of a generative model");

            var n = PositiveInteger(root, "n") ?? 1;
            if (n > MaxChoices)
            {
                ProntoErrors.InvalidArgument($"'n' must be at most {MaxChoices}, got {n}");
            }

            // best_of candidates per prompt, the n with the highest cumulative log-probability returned (OpenAI's and vLLM's).
            var bestOf = PositiveInteger(root, "best_of") ?? n;
            if (bestOf < n || bestOf > MaxChoices)
            {
                ProntoErrors.InvalidArgument(bestOf < n ? $"'best_of' must be at least 'n' ({n}), got {bestOf}" : $"'best_of' must be at most {MaxChoices}, got {bestOf}");
            }

            var logprobs = chat ? ChatLogprobs(root) : OpenAiFields.Integer(root, "logprobs");
            var promptLogprobs = OpenAiFields.Integer(root, "prompt_logprobs");
            if (promptLogprobs is < 0 or > SamplingParameters.MaxLogprobs)
            {
                ProntoErrors.InvalidArgument($"'prompt_logprobs' must be from 0 to {SamplingParameters.MaxLogprobs}, got {promptLogprobs}");
            }
            // echo (completions): each choice's text starts with its prompt's; with logprobs, so do its logprobs lists.
            // Chat's echo is vLLM's: the last message's content, when the reply continues that role.
            var echoed = OpenAiFields.Bool(root, "echo") == true;
            var echo = !chat && echoed;
            var addGenerationPrompt = !chat || (OpenAiFields.Bool(root, "add_generation_prompt") ?? true);
            var continueFinal = chat && (OpenAiFields.Bool(root, "continue_final_message") ?? false);
            if (continueFinal && addGenerationPrompt)
            {
                ProntoErrors.InvalidArgument("'continue_final_message' and 'add_generation_prompt' cannot both be true: set 'add_generation_prompt' to false to continue the last message");
            }

            Refuse(root, "suffix", _ => false, "'suffix' is not supported");
            Refuse(root, "tools", v => v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 0, "'tools' are not supported");

            int? maxTokens = null;
            foreach (var name in (string[])["max_tokens", "max_completion_tokens"])
            {
                if (OpenAiFields.Integer(root, name) is { } count)
                {
                    maxTokens = count;
                    if (maxTokens < 1 && !(maxTokens == 0 && echo))
                    {
                        ProntoErrors.InvalidArgument(chat
                            ? $"'{name}' must be at least 1, got {maxTokens}"
                            : $"'{name}' must be at least 1 (0 only with echo, which scores the prompt), got {maxTokens}");
                    }
                }
            }

            var stop = new List<string>();
            if (root.TryGetProperty("stop", out var s) && s.ValueKind != JsonValueKind.Null)
            {
                if (s.ValueKind == JsonValueKind.String)
                {
                    stop.Add(s.GetString()!);
                }
                else if (s.ValueKind == JsonValueKind.Array && s.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
                {
                    stop.AddRange(s.EnumerateArray().Select(e => e.GetString()!));
                }
                else
                {
                    ProntoErrors.InvalidArgument("'stop' must be a string or an array of strings");
                }
            }

            var stopIds = new List<int>();
            if (root.TryGetProperty("stop_token_ids", out var ids) && ids.ValueKind != JsonValueKind.Null)
            {
                stopIds.AddRange(ReadIds(ids, "stop_token_ids"));
            }

            var sampling = new SamplingParameters
            {
                Temperature = OpenAiFields.Float(root, "temperature") ?? 1f,
                TopP = OpenAiFields.Float(root, "top_p") ?? 1f,
                TopK = OpenAiFields.Integer(root, "top_k") ?? 0,
                MinP = OpenAiFields.Float(root, "min_p") ?? 0f,
                RepetitionPenalty = OpenAiFields.Float(root, "repetition_penalty") ?? 1f,
                PresencePenalty = OpenAiFields.Float(root, "presence_penalty") ?? 0f,
                FrequencyPenalty = OpenAiFields.Float(root, "frequency_penalty") ?? 0f,
                MinTokens = OpenAiFields.Integer(root, "min_tokens") ?? 0,
                Logprobs = logprobs,
                // One list serves both: echo's legacy lists take the first 'logprobs' alternatives, prompt_logprobs its own.
                PromptLogprobs = Max(echo ? logprobs : null, promptLogprobs),
                Seed = OpenAiFields.Number(root, "seed") is { } seed ? (seed.TryGetInt64(out var sv) ? unchecked((ulong)sv) : ProntoErrors.InvalidArgument<ulong>("'seed' must be an integer")) : null,
                Stop = stop,
                StopTokenIds = stopIds,
                IgnoreEos = OpenAiFields.Bool(root, "ignore_eos") ?? false,
            };

            var stream = OpenAiFields.Bool(root, "stream") ?? false;
            if (stream && bestOf > n)
            {
                ProntoErrors.InvalidArgument("'best_of' greater than 'n' cannot be streamed: the best candidates are known only when all have finished");
            }

            var includeUsage = false;
            if (root.TryGetProperty("stream_options", out var so) && so.ValueKind != JsonValueKind.Null)
            {
                includeUsage = so.ValueKind == JsonValueKind.Object
                    ? OpenAiFields.Bool(so, "include_usage") ?? false
                    : ProntoErrors.InvalidArgument<bool>("'stream_options' must be an object");
            }
            return new GenerationRequest
            {
                Model = model,
                Prompts = chat ? [] : ReadPrompts(root),
                Messages = chat ? ReadMessages(root) : null,
                MaxTokens = maxTokens,
                Sampling = sampling,
                GivenSampling = SamplingDefaults.Fields.Where(f => root.TryGetProperty(f, out var v) && v.ValueKind != JsonValueKind.Null).ToHashSet(StringComparer.Ordinal),
                Stream = stream,
                IncludeUsage = includeUsage,
                ReturnTokenIds = OpenAiFields.Bool(root, "return_token_ids") ?? false,
                AddSpecialTokens = OpenAiFields.Bool(root, "add_special_tokens") ?? !chat,
                PromptLogprobs = promptLogprobs,
                Echo = echo,
                EchoLastMessage = chat && echoed,
                AddGenerationPrompt = addGenerationPrompt,
                ContinueFinalMessage = continueFinal,
                N = n,
                BestOf = bestOf,
            };
        }
        catch (JsonException e)
        {
            return ProntoErrors.InvalidArgument<GenerationRequest>($"malformed JSON: {e.Message}");
        }
        catch (FormatException e)
        {
            return ProntoErrors.InvalidArgument<GenerationRequest>($"unexpected JSON value: {e.Message}");
        }
        catch (InvalidOperationException e)
        {
            return ProntoErrors.InvalidArgument<GenerationRequest>($"unexpected JSON value: {e.Message}");
        }
    }

    /// <summary>
    /// The body of Triton's generate extension (<c>POST /v2/models/{m}/generate</c>, <c>/generate_stream</c>):
    /// <c>text_input</c> and the sampling fields, top-level or in <c>parameters</c> (which wins), read as a completion
    /// of that one prompt, so every field means and validates as on /v1/completions. <c>stream</c> is the route's.
    /// </summary>
    public static GenerationRequest ParseTriton(ReadOnlySpan<byte> json, string model)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 16 });
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                ProntoErrors.InvalidArgument("the body must be a JSON object with 'text_input'");
            }

            if (!root.TryGetProperty("text_input", out var text) || text.ValueKind != JsonValueKind.String)
            {
                ProntoErrors.InvalidArgument("'text_input' is required: the prompt, a string");
            }

            var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                fields[property.Name] = property.Value;
            }

            if (root.TryGetProperty("parameters", out var parameters) && parameters.ValueKind != JsonValueKind.Null)
            {
                if (parameters.ValueKind != JsonValueKind.Object)
                {
                    ProntoErrors.InvalidArgument("'parameters' must be an object");
                }

                foreach (var property in parameters.EnumerateObject())
                {
                    fields[property.Name] = property.Value;
                }
            }

            var completion = new System.Buffers.ArrayBufferWriter<byte>();
            using (var w = new Utf8JsonWriter(completion))
            {
                w.WriteStartObject();
                w.WriteString("model", model);
                w.WriteString("prompt", text.GetString());
                foreach (var (name, value) in fields)
                {
                    if (name is not ("text_input" or "parameters" or "model" or "prompt" or "stream" or "stream_options"))
                    {
                        w.WritePropertyName(name);
                        value.WriteTo(w);
                    }
                }

                w.WriteEndObject();
            }

            var request = Parse(completion.WrittenSpan, chat: false);
            foreach (var (name, value) in (ReadOnlySpan<(string, int)>)[("n", request.N), ("best_of", request.BestOf)])
            {
                if (value != 1)
                {
                    ProntoErrors.InvalidArgument($"the generate extension answers one text_output: '{name}' must be 1");
                }
            }

            return request;
        }
        catch (JsonException e)
        {
            return ProntoErrors.InvalidArgument<GenerationRequest>($"malformed JSON: {e.Message}");
        }
    }

    /// <summary>Chat's <c>logprobs: true</c> with <c>top_logprobs: k</c> (0 to 20) as the number of alternatives; null without logprobs.</summary>
    private static int? ChatLogprobs(JsonElement root)
    {
        var wanted = OpenAiFields.Bool(root, "logprobs") ?? false;
        var top = OpenAiFields.Integer(root, "top_logprobs");
        if (top is not null && !wanted)
        {
            ProntoErrors.InvalidArgument("'top_logprobs' needs 'logprobs': true");
        }

        if (top is < 0 or > SamplingParameters.MaxLogprobs)
        {
            ProntoErrors.InvalidArgument($"'top_logprobs' must be from 0 to {SamplingParameters.MaxLogprobs}, got {top}");
        }

        return wanted ? top ?? 0 : null;
    }

    /// <summary>A count below 1 (or not an integer) is the client's mistake, 400; only counts past 1 are unsupported (501).</summary>
    private static int? PositiveInteger(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) && n >= 1
            ? n
            : ProntoErrors.InvalidArgument<int>($"'{name}' must be a positive integer, got {value.GetRawText()}");
    }

    private static void Refuse(JsonElement root, string name, Func<JsonElement, bool> allowed, string message)
    {
        if (root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null && !allowed(value))
        {
            ProntoErrors.Unsupported(message);
        }
    }

    internal static int[] ReadIds(JsonElement array, string name)
    {
        if (array.ValueKind != JsonValueKind.Array)
        {
            ProntoErrors.InvalidArgument($"'{name}' must be an array of token ids");
        }

        var ids = new int[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            ids[i++] = item.ValueKind == JsonValueKind.Number && item.TryGetInt32(out var id)
                ? id
                : ProntoErrors.InvalidArgument<int>($"'{name}' must hold integer token ids");
        }

        return ids;
    }

    private static Prompt[] ReadPrompts(JsonElement root)
    {
        if (!root.TryGetProperty("prompt", out var prompt))
        {
            ProntoErrors.InvalidArgument("'prompt' is required: a string, an array of strings, or token ids");
        }

        switch (prompt.ValueKind)
        {
            case JsonValueKind.String:
                return [new Prompt(prompt.GetString(), null)];
            case JsonValueKind.Array when prompt.GetArrayLength() == 0:
                return ProntoErrors.InvalidArgument<Prompt[]>("'prompt' must not be an empty array");
            case JsonValueKind.Array when prompt[0].ValueKind == JsonValueKind.Number:
                return [new Prompt(null, ReadIds(prompt, "prompt"))];
            case JsonValueKind.Array:
                var prompts = new List<Prompt>();
                foreach (var item in prompt.EnumerateArray())
                {
                    prompts.Add(item.ValueKind switch
                    {
                        JsonValueKind.String => new Prompt(item.GetString(), null),
                        JsonValueKind.Array => new Prompt(null, ReadIds(item, "prompt")),
                        _ => ProntoErrors.InvalidArgument<Prompt>("'prompt' must be a string, an array of strings, token ids, or an array of token id arrays"),
                    });
                }

                return [.. prompts];
            default:
                return ProntoErrors.InvalidArgument<Prompt[]>("'prompt' must be a string, an array of strings, token ids, or an array of token id arrays");
        }
    }

    internal static ChatMessage[] ReadMessages(JsonElement root)
    {
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            return ProntoErrors.InvalidArgument<ChatMessage[]>("'messages' is required: a non-empty array of {\"role\", \"content\"}");
        }

        var result = new List<ChatMessage>();
        foreach (var message in messages.EnumerateArray())
        {
            var role = message.ValueKind == JsonValueKind.Object && message.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String
                ? r.GetString()!
                : ProntoErrors.InvalidArgument<string>("each message needs a 'role' string");
            result.Add(new ChatMessage(role, Content(message)));
        }

        return [.. result];
    }

    /// <summary>A message's content: a string, or an array of parts of which only text parts are supported.</summary>
    private static string Content(JsonElement message)
    {
        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
        {
            return string.Empty;
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString()!;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return ProntoErrors.InvalidArgument<string>("a message's 'content' must be a string or an array of content parts");
        }

        var text = new System.Text.StringBuilder();
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.GetString() != "text"
                || !part.TryGetProperty("text", out var t) || t.ValueKind != JsonValueKind.String)
            {
                ProntoErrors.Unsupported("only text content parts are supported");
                return string.Empty;
            }

            text.Append(t.GetString());
        }

        return text.ToString();
    }
}
