using Pronto.Core.Errors;

namespace Pronto.Core.Generation;

/// <summary>
/// How one sequence picks its tokens and when it stops: OpenAI's parameters (temperature, top_p, max_tokens, stop,
/// seed, presence_penalty, frequency_penalty) and vLLM's top_k, min_p, repetition_penalty, min_tokens and
/// stop_token_ids. Temperature 0 is greedy decoding (penalties and min_tokens still apply to the logits it reads).
/// </summary>
public sealed record SamplingParameters
{
    /// <summary>0: greedy (the most likely token, the lowest id on a tie); else logits are divided by it before sampling.</summary>
    public float Temperature { get; init; } = 1f;

    /// <summary>Nucleus sampling: the smallest set of most likely tokens whose probability reaches it; 1 keeps all.</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>Only the k most likely tokens; 0 (or -1, vLLM's spelling) keeps all.</summary>
    public int TopK { get; init; }

    /// <summary>vLLM's min_p: only tokens at least this fraction of the most likely token's probability; 0 keeps all.</summary>
    public float MinP { get; init; }

    /// <summary>
    /// vLLM's repetition_penalty, over the prompt and the generated tokens: a seen token's logit is divided by it when
    /// positive and multiplied by it when not; 1 changes nothing, above 1 discourages repeats.
    /// </summary>
    public float RepetitionPenalty { get; init; } = 1f;

    /// <summary>OpenAI's presence_penalty, over the generated tokens: subtracted once from the logit of every token seen.</summary>
    public float PresencePenalty { get; init; }

    /// <summary>OpenAI's frequency_penalty, over the generated tokens: subtracted from a token's logit once per time it was generated.</summary>
    public float FrequencyPenalty { get; init; }

    /// <summary>
    /// vLLM's min_tokens: end-of-sequence and stop_token_ids cannot be drawn, and stop strings do not end the text,
    /// before this many tokens were generated.
    /// </summary>
    public int MinTokens { get; init; }

    /// <summary>
    /// Log-probabilities with each token and this many most likely alternatives (0 to <see cref="MaxLogprobs"/>);
    /// null: none. Read from the raw logits (<see cref="TokenLogprobs"/>).
    /// </summary>
    public int? Logprobs { get; init; }

    /// <summary>The most alternatives a token's log-probabilities list (vLLM's default max_logprobs).</summary>
    public const int MaxLogprobs = 20;

    /// <summary>
    /// Log-probabilities of the prompt's own tokens (each given the ones before it; the first has none) with this many
    /// alternatives, computed from the prefill's logits and handed over with the first chunk
    /// (<see cref="GenerationChunk.PromptLogprobs"/>); null: none. OpenAI's echo with logprobs, vLLM's prompt_logprobs.
    /// </summary>
    public int? PromptLogprobs { get; init; }

    /// <summary>The seed of this sequence's random draws: the same seed, prompt and parameters give the same tokens.</summary>
    public ulong? Seed { get; init; }

    /// <summary>Tokens to generate at most (the finish reason is then <c>length</c>).</summary>
    public int MaxTokens { get; init; } = 16;

    /// <summary>Strings that end the text; the text stops before the first one (not included).</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Token ids that end the sequence besides the model's end-of-sequence ids (not part of the text).</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>Keep generating past the model's end-of-sequence tokens (vLLM's <c>ignore_eos</c>).</summary>
    public bool IgnoreEos { get; init; }

    /// <summary>Whether any penalty changes the logits (each sampler then keeps the counts it needs).</summary>
    internal bool Penalized => RepetitionPenalty != 1f || PresencePenalty != 0f || FrequencyPenalty != 0f;

    /// <summary>Checks the values; the message names the parameter as OpenAI's API spells it.</summary>
    public void Validate(int vocabSize)
    {
        if (!float.IsFinite(Temperature) || Temperature < 0 || Temperature > 2)
        {
            ProntoErrors.InvalidArgument($"'temperature' must be from 0 to 2, got {Temperature}");
        }

        if (!float.IsFinite(TopP) || TopP <= 0 || TopP > 1)
        {
            ProntoErrors.InvalidArgument($"'top_p' must be greater than 0 and at most 1, got {TopP}");
        }

        if (TopK < -1)
        {
            ProntoErrors.InvalidArgument($"'top_k' must be -1 (all), 0 (all) or a positive count, got {TopK}");
        }

        if (MaxTokens < 1)
        {
            ProntoErrors.InvalidArgument($"'max_tokens' must be at least 1, got {MaxTokens}");
        }

        if (!float.IsFinite(MinP) || MinP < 0 || MinP > 1)
        {
            ProntoErrors.InvalidArgument($"'min_p' must be from 0 to 1, got {MinP}");
        }

        if (!float.IsFinite(RepetitionPenalty) || RepetitionPenalty <= 0)
        {
            ProntoErrors.InvalidArgument($"'repetition_penalty' must be greater than 0, got {RepetitionPenalty}");
        }

        if (!float.IsFinite(PresencePenalty) || PresencePenalty < -2 || PresencePenalty > 2)
        {
            ProntoErrors.InvalidArgument($"'presence_penalty' must be from -2 to 2, got {PresencePenalty}");
        }

        if (!float.IsFinite(FrequencyPenalty) || FrequencyPenalty < -2 || FrequencyPenalty > 2)
        {
            ProntoErrors.InvalidArgument($"'frequency_penalty' must be from -2 to 2, got {FrequencyPenalty}");
        }

        if (Logprobs is < 0 or > MaxLogprobs)
        {
            ProntoErrors.InvalidArgument($"'logprobs' must be from 0 to {MaxLogprobs}, got {Logprobs}");
        }

        if (PromptLogprobs is < 0 or > MaxLogprobs)
        {
            ProntoErrors.InvalidArgument($"'prompt_logprobs' must be from 0 to {MaxLogprobs}, got {PromptLogprobs}");
        }

        if (MinTokens < 0 || MinTokens > MaxTokens)
        {
            ProntoErrors.InvalidArgument($"'min_tokens' must be from 0 to max_tokens ({MaxTokens}), got {MinTokens}");
        }

        foreach (var stop in Stop)
        {
            if (string.IsNullOrEmpty(stop))
            {
                ProntoErrors.InvalidArgument("'stop' strings must not be empty");
            }
        }

        foreach (var id in StopTokenIds)
        {
            if (id < 0 || id >= vocabSize)
            {
                ProntoErrors.InvalidArgument($"'stop_token_ids' holds {id}, outside the vocabulary (0 to {vocabSize - 1})");
            }
        }
    }
}
