using System.Globalization;
using System.Text.Json;
using Pronto.Core.Backends;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;

namespace Pronto.Core.Generation;

/// <summary>
/// What makes a loaded model version generative: config.pbtxt's <c>pronto.generative: "true"</c> on an ONNX decoder
/// in Optimum's layout, and beside it (in the version folder, else the model folder) <c>tokenizer.json</c>,
/// <c>tokenizer_config.json</c> (end-of-sequence token, chat template) and optionally Hugging Face's
/// <c>config.json</c> / <c>generation_config.json</c> (context length, end-of-sequence ids). It owns the version's
/// <see cref="GenerationEngine"/>s: one per <c>instance_group</c> instance (Triton's count, 1 by default), each a decode
/// loop with its own running batch over the version's one session; a request goes to the engine with the fewest
/// sequences (<see cref="Generate"/>). docs/generative.md describes the folder and the parameters.
/// </summary>
public sealed class GenerativeModel : IDisposable
{
    public const int DefaultMaxRunning = 8;
    public const int DefaultMaxWaiting = 64;

    /// <summary>Tokens one loop iteration runs at most: a decode token per running sequence, the rest prompt chunks (vLLM's max_num_batched_tokens).</summary>
    public const int DefaultMaxStepTokens = 512;

    private readonly Lock _route = new();

    private GenerativeModel(string name, GenerativeTokenizer tokenizer, ChatTemplate chatTemplate, IReadOnlyList<GenerationEngine> engines, SamplingDefaults defaults)
    {
        Name = name;
        Defaults = defaults;
        Tokenizer = tokenizer;
        ChatTemplate = chatTemplate;
        Engines = engines;
    }

    public string Name { get; }

    public GenerativeTokenizer Tokenizer { get; }

    public ChatTemplate ChatTemplate { get; }

    /// <summary>The decode loops, one per instance_group instance; each has its own max_running, max_waiting and cache budget.</summary>
    public IReadOnlyList<GenerationEngine> Engines { get; }

    /// <summary>The first engine (the only one unless instance_group's count is above 1): its settings are every engine's.</summary>
    public GenerationEngine Engine => Engines[0];

    /// <summary>Sequences all engines run in one step together: max_running per engine times the engines.</summary>
    public int MaxRunning => Engine.MaxRunning * Engines.Count;

    /// <summary>Sequences all engines queue together before a new one is refused.</summary>
    public int MaxWaiting => Engine.MaxWaiting * Engines.Count;

    /// <summary>
    /// Queues a sequence on the engine with the fewest running and waiting sequences (the first of equals) and returns
    /// its tokens as they come (<see cref="GenerationEngine.Generate"/>). A full queue is Unavailable only when the
    /// least-loaded engine's is full.
    /// </summary>
    public IAsyncEnumerable<GenerationChunk> Generate(IReadOnlyList<int> prompt, SamplingParameters parameters, CancellationToken cancellationToken)
    {
        if (Engines.Count == 1)
        {
            return Engine.Generate(prompt, parameters, cancellationToken);
        }

        // One choice at a time, so requests that arrive together spread out (Generate counts the sequence as waiting
        // before it returns).
        lock (_route)
        {
            var chosen = Engine;
            foreach (var engine in Engines)
            {
                if (engine.Running + engine.Waiting < chosen.Running + chosen.Waiting)
                {
                    chosen = engine;
                }
            }

            return chosen.Generate(prompt, parameters, cancellationToken);
        }
    }

    /// <summary>The whole text <see cref="Generate"/> streams for <paramref name="prompt"/> (offline callers: SQL, batch).</summary>
    public async Task<string> CompleteAsync(IReadOnlyList<int> prompt, SamplingParameters parameters, CancellationToken cancellationToken)
    {
        var text = new System.Text.StringBuilder();
        await foreach (var chunk in Generate(prompt, parameters, cancellationToken).ConfigureAwait(false))
        {
            text.Append(chunk.Text);
        }

        return text.ToString();
    }

    /// <summary>The model's sampling defaults for what a request leaves out (generation_config.json over genai_config.json's search).</summary>
    public SamplingDefaults Defaults { get; }

    public int ContextLength => Engine.ContextLength;

    /// <summary>
    /// The tokens a sequence of <paramref name="promptTokens"/> may generate: <paramref name="requested"/>, else
    /// <paramref name="defaultTokens"/>, else the rest of the model's max_length (<see cref="SamplingDefaults.MaxLength"/>)
    /// or of the context (at least 1); a clear error when the prompt and the requested tokens do not fit the context.
    /// </summary>
    public int MaxTokensFor(int promptTokens, int? requested, int? defaultTokens = null)
    {
        var maxTokens = requested ?? defaultTokens ?? Math.Min(ContextLength, Defaults.MaxLength ?? ContextLength) - promptTokens;
        if (promptTokens + maxTokens > ContextLength)
        {
            ProntoErrors.InvalidArgument(string.Create(CultureInfo.InvariantCulture,
                $"model '{Name}' reads {ContextLength} tokens at most; this request asks for {promptTokens + maxTokens} ({promptTokens} in the prompt, {maxTokens} to generate): shorten the prompt or lower max_tokens"));
        }

        return Math.Max(1, maxTokens);
    }

    /// <summary>True when the config marks the model generative (<c>pronto.generative: "true"</c>).</summary>
    public static bool IsGenerative(ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.Parameters.TryGetValue(ProntoParameters.Generative, out var value) && value == "true";
    }

    /// <summary>Reads the tokenizer and settings of a loaded decoder and starts its engine (idle until a request comes).</summary>
    public static GenerativeModel Create(ModelConfig config, string versionDirectory, string modelDirectory, IModelInstance instance, TimeProvider? time = null, IJinjaChatTemplates? jinja = null, string? modelPath = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var genai = GenaiConfig.TryRead(versionDirectory);
        // GroupQueryAttention (ONNX Runtime GenAI's model builder) reads each row's length from the mask: right padding.
        var decoder = DecoderSignature.Create(config, genai?.Names, padsRight: modelPath is not null && OnnxOperators.Uses(modelPath, "GroupQueryAttention"));
        string? Find(string file) =>
            File.Exists(Path.Combine(versionDirectory, file)) ? Path.Combine(versionDirectory, file)
            : File.Exists(Path.Combine(modelDirectory, file)) ? Path.Combine(modelDirectory, file)
            : null;

        var tokenizerPath = Find("tokenizer.json")
            ?? ProntoErrors.InvalidArgument<string>($"generative model '{config.Name}' has no tokenizer.json (in {versionDirectory} or {modelDirectory})");
        var tokenizer = GenerativeTokenizer.Load(tokenizerPath);
        if (decoder.VocabSize > 0 && tokenizer.VocabSize > decoder.VocabSize)
        {
            ProntoErrors.InvalidArgument($"generative model '{config.Name}': the tokenizer has {tokenizer.VocabSize} ids but the logits only {decoder.VocabSize}");
        }

        using var tokenizerConfig = ReadJson(Find("tokenizer_config.json"));
        using var modelConfig = ReadJson(Find("config.json"));
        using var generationConfig = ReadJson(Find("generation_config.json"));

        var eos = new HashSet<int>(genai?.EosTokenIds ?? []);
        if (tokenizerConfig?.RootElement.TryGetProperty("eos_token", out var eosToken) == true && TokenText(eosToken) is { } eosText && tokenizer.TokenId(eosText) is { } eosId)
        {
            eos.Add(eosId);
        }

        foreach (var json in new[] { modelConfig, generationConfig })
        {
            if (json?.RootElement.TryGetProperty("eos_token_id", out var ids) == true)
            {
                if (ids.ValueKind == JsonValueKind.Number)
                {
                    eos.Add(ids.GetInt32());
                }
                else if (ids.ValueKind == JsonValueKind.Array)
                {
                    foreach (var id in ids.EnumerateArray())
                    {
                        eos.Add(id.GetInt32());
                    }
                }
            }
        }

        var context = Int(config, ProntoParameters.GenerativeContextLength)
            ?? genai?.ContextLength
            ?? ContextFrom(modelConfig)
            ?? ProntoErrors.InvalidArgument<int>($"generative model '{config.Name}': set '{ProntoParameters.GenerativeContextLength}' (no config.json gives max_position_embeddings or n_positions)");

        ChatTemplate template;
        if (config.Parameters.GetValueOrDefault(ProntoParameters.GenerativeChatTemplate) == "chatml")
        {
            template = ChatTemplate.ChatMl;
        }
        else if (tokenizerConfig?.RootElement.TryGetProperty("chat_template", out var templateText) == true && templateText.ValueKind == JsonValueKind.String)
        {
            template = JinjaTemplate(config.Name, templateText.GetString()!, tokenizerPath, Find("tokenizer_config.json"), jinja);
        }
        else
        {
            template = ChatTemplate.None("it has no chat template (tokenizer_config.json has no chat_template string); use /v1/completions");
        }

        // ONNX Runtime runs one session from several threads at once, so the engines share the version's instance.
        var engines = Enumerable.Range(0, config.InstanceCount).Select(_ => new GenerationEngine(config.Name, instance, decoder, tokenizer, eos, context,
            Int(config, ProntoParameters.GenerativeMaxRunning) ?? DefaultMaxRunning,
            Int(config, ProntoParameters.GenerativeMaxWaiting) ?? DefaultMaxWaiting,
            Int(config, ProntoParameters.GenerativeMaxStepTokens) ?? DefaultMaxStepTokens,
            Int(config, ProntoParameters.GenerativeMaxCacheTokens) ?? 0,
            time)).ToArray();
        var defaults = (generationConfig is null ? SamplingDefaults.None : SamplingDefaults.Read(generationConfig.RootElement, Find("generation_config.json")!))
            .Over(genai?.Search ?? SamplingDefaults.None);
        return new GenerativeModel(config.Name, tokenizer, template, engines, defaults);
    }

    public void Dispose()
    {
        foreach (var engine in Engines)
        {
            engine.Dispose();
        }

        ChatTemplate.Dispose();
    }

    /// <summary>
    /// The model's Jinja template through the backend's renderer, checked on a one-message conversation at load so a
    /// template the renderer cannot run is a clear reason at the chat request; without a renderer (or when it fails)
    /// a ChatML template is rendered by Pronto.
    /// </summary>
    private static ChatTemplate JinjaTemplate(string model, string template, string tokenizerJson, string? tokenizerConfigJson, IJinjaChatTemplates? jinja)
    {
        if (jinja is null)
        {
            return ChatTemplate.FromJinja(template);
        }

        IChatTemplateRenderer? renderer = null;
        try
        {
            renderer = jinja.LoadChatTemplate(tokenizerJson, tokenizerConfigJson, template);
            renderer.Render([new ChatMessage("user", "hello")]);
            return ChatTemplate.Jinja(renderer);
        }
        catch (Exception e) when (e is ProntoException or IOException)
        {
            renderer?.Dispose();
            return ChatTemplate.FromJinja(template, $"its tokenizer_config.json chat_template cannot be rendered: {e.Message}");
        }
    }

    private static int? Int(ModelConfig config, string key) =>
        config.Parameters.TryGetValue(key, out var text) ? int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture) : null;

    private static int? ContextFrom(JsonDocument? modelConfig)
    {
        foreach (var key in (string[])["max_position_embeddings", "n_positions"])
        {
            if (modelConfig?.RootElement.TryGetProperty(key, out var value) == true && value.ValueKind == JsonValueKind.Number)
            {
                return value.GetInt32();
            }
        }

        return null;
    }

    /// <summary>A token in tokenizer_config.json: a string, or an object with "content".</summary>
    private static string? TokenText(JsonElement token) => token.ValueKind switch
    {
        JsonValueKind.String => token.GetString(),
        JsonValueKind.Object when token.TryGetProperty("content", out var content) => content.GetString(),
        _ => null,
    };

    private static JsonDocument? ReadJson(string? path)
    {
        if (path is null)
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            return ProntoErrors.InvalidArgument<JsonDocument>($"'{path}' is not valid JSON: {e.Message}");
        }
    }
}
