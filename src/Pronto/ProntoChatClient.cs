using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.AI;
using Pronto.Core.Errors;
using Pronto.Core.Generation;
using Pronto.Core.Repository;
using CoreChatMessage = Pronto.Core.Generation.ChatMessage;
using ChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Pronto;

/// <summary>
/// Microsoft.Extensions.AI's chat client over a Pronto generative model, in-process: the messages are rendered with
/// the model's chat template and decoded by the model's <see cref="GenerationEngine"/> (the same continuous-batching
/// loop, sampling and defaults as the server's <c>/v1/chat/completions</c>: temperature 1, top_p 1, and up to the
/// rest of the context when <see cref="ChatOptions.MaxOutputTokens"/> is not set), so a seeded or greedy answer here
/// is the server's answer token for token. Concurrent calls share decode steps.
/// </summary>
public sealed class ProntoChatClient : IChatClient
{
    private readonly ProntoRuntime _runtime;
    private readonly string _model;
    private readonly ChatClientMetadata _metadata;

    internal ProntoChatClient(ProntoRuntime runtime, string model)
    {
        using (var lease = runtime.Repository.Acquire(model))
        {
            var generative = lease.Model.Generative
                ?? ProntoErrors.InvalidArgument<GenerativeModel>($"model '{model}' is not a generative model (config.pbtxt: pronto.generative: \"true\")");
            if (generative.ChatTemplate.Unsupported is { } why)
            {
                ProntoErrors.InvalidArgument($"model '{model}' cannot chat: {why}");
            }
        }

        _runtime = runtime;
        _model = model;
        _metadata = new ChatClientMetadata("pronto", null, model);
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var text = new StringBuilder();
        ChatResponseUpdate? last = null;
        UsageDetails? usage = null;
        await foreach (var update in GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            text.Append(update.Text);
            usage = update.Contents.OfType<UsageContent>().FirstOrDefault()?.Details ?? usage;
            last = update;
        }

        return new ChatResponse(new ChatMessage(ChatRole.Assistant, text.ToString()) { MessageId = last?.MessageId })
        {
            ResponseId = last?.ResponseId,
            ModelId = last?.ModelId,
            CreatedAt = last?.CreatedAt,
            FinishReason = last?.FinishReason,
            Usage = usage,
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);

        // The lease spans the generation: an unload waits for the answer it would cut.
        using var lease = _runtime.Repository.Acquire(options?.ModelId ?? _model);
        var model = lease.Model.Generative
            ?? ProntoErrors.InvalidArgument<GenerativeModel>($"model '{lease.Model.Name}' is not a generative model");
        var prompt = model.Tokenizer.Encode(model.ChatTemplate.Render(model.Name, [.. messages.Select(ToCore)]));
        // The model's own defaults (generation_config.json, genai_config.json's search) for what the options leave out.
        var sampling = model.Defaults.Apply(Sampling(options), Given(options)) with
        {
            MaxTokens = model.MaxTokensFor(prompt.Length, options?.MaxOutputTokens, model.Defaults.MaxNewTokens),
        };
        model.Engine.Validate(prompt, sampling);

        var id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        var created = _runtime.Repository.TimeProvider.GetUtcNow();
        var generated = 0;
        await foreach (var chunk in model.Generate(prompt, sampling, cancellationToken).ConfigureAwait(false))
        {
            generated++;
            if (chunk.Text.Length == 0 && chunk.Finish is null)
            {
                continue;
            }

            var update = new ChatResponseUpdate(ChatRole.Assistant, chunk.Text)
            {
                ResponseId = id,
                MessageId = id,
                ModelId = model.Name,
                CreatedAt = created,
            };
            if (chunk.Finish is { } finish)
            {
                update.FinishReason = finish == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop;
                update.Contents.Add(new UsageContent(new UsageDetails
                {
                    InputTokenCount = prompt.Length,
                    OutputTokenCount = generated,
                    TotalTokenCount = prompt.Length + generated,
                }));
            }

            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(ChatClientMetadata) ? _metadata
        : serviceType.IsInstanceOfType(this) ? this
        : serviceType == typeof(ProntoRuntime) ? _runtime
        : null;

    /// <summary>Nothing to release: the <see cref="ProntoRuntime"/> owns the model.</summary>
    public void Dispose()
    {
    }

    /// <summary>OpenAI's sampling defaults with the options' values over them (what the server's chat route reads from a request).</summary>
    internal static SamplingParameters Sampling(ChatOptions? options) => new()
    {
        Temperature = options?.Temperature ?? 1f,
        TopP = options?.TopP ?? 1f,
        TopK = options?.TopK ?? 0,
        PresencePenalty = options?.PresencePenalty ?? 0f,
        FrequencyPenalty = options?.FrequencyPenalty ?? 0f,
        Seed = options?.Seed is { } seed ? unchecked((ulong)seed) : null,
        Stop = options?.StopSequences is { } stop ? [.. stop] : [],
    };

    /// <summary>The sampling fields <paramref name="options"/> sets, by their OpenAI names.</summary>
    private static HashSet<string> Given(ChatOptions? options)
    {
        var given = new HashSet<string>(StringComparer.Ordinal);
        if (options?.Temperature is not null)
        {
            given.Add("temperature");
        }

        if (options?.TopP is not null)
        {
            given.Add("top_p");
        }

        if (options?.TopK is not null)
        {
            given.Add("top_k");
        }

        return given;
    }

    private static CoreChatMessage ToCore(ChatMessage message) => new(message.Role.Value, message.Text);
}
