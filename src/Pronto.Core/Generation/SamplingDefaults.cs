using System.Text.Json;
using Pronto.Core.Errors;

namespace Pronto.Core.Generation;

/// <summary>
/// A model's own sampling defaults, for the parameters a request leaves out (as vLLM applies a model's
/// generation_config.json): ONNX Runtime GenAI's <c>search</c> section of genai_config.json and Hugging Face's
/// generation_config.json, the latter winning where both give a value. <c>do_sample: false</c> makes the default
/// greedy (temperature 0); <c>temperature</c>, <c>top_p</c>, <c>top_k</c>, <c>repetition_penalty</c>,
/// <c>max_new_tokens</c> and <c>max_length</c> are read; other keys are ignored.
/// </summary>
public sealed record SamplingDefaults
{
    public static SamplingDefaults None { get; } = new();

    public float? Temperature { get; init; }

    public float? TopP { get; init; }

    public int? TopK { get; init; }

    public float? RepetitionPenalty { get; init; }

    /// <summary>The tokens a request generates when it gives no max_tokens (generation_config.json's max_new_tokens).</summary>
    public int? MaxNewTokens { get; init; }

    /// <summary>
    /// Prompt and generated tokens together at most when a request gives no max_tokens and the model no max_new_tokens
    /// (GenAI's search.max_length, generation_config.json's max_length); the context length caps it in any case.
    /// </summary>
    public int? MaxLength { get; init; }

    /// <summary>The request fields these defaults stand in for.</summary>
    public static IReadOnlyList<string> Fields { get; } = ["temperature", "top_p", "top_k", "repetition_penalty"];

    /// <summary>Reads a <c>search</c> or generation_config.json object; a value of the wrong type is an invalid argument naming <paramref name="path"/>.</summary>
    public static SamplingDefaults Read(JsonElement section, string path)
    {
        if (section.ValueKind != JsonValueKind.Object)
        {
            return None;
        }

        float? Number(string name) => section.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null
            ? v.ValueKind == JsonValueKind.Number ? v.GetSingle() : ProntoErrors.InvalidArgument<float>($"{path}: '{name}' must be a number")
            : null;
        int? Integer(string name) => section.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null
            ? v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : ProntoErrors.InvalidArgument<int>($"{path}: '{name}' must be an integer")
            : null;
        var sample = section.TryGetProperty("do_sample", out var d) && d.ValueKind is JsonValueKind.True or JsonValueKind.False ? d.GetBoolean() : (bool?)null;
        return new SamplingDefaults
        {
            Temperature = sample == false ? 0f : Number("temperature"),
            TopP = Number("top_p"),
            TopK = Integer("top_k"),
            RepetitionPenalty = Number("repetition_penalty"),
            MaxNewTokens = Integer("max_new_tokens"),
            MaxLength = Integer("max_length"),
        };
    }

    /// <summary>These defaults, each filled from <paramref name="fallback"/> where this one gives none.</summary>
    public SamplingDefaults Over(SamplingDefaults fallback) => new()
    {
        Temperature = Temperature ?? fallback.Temperature,
        TopP = TopP ?? fallback.TopP,
        TopK = TopK ?? fallback.TopK,
        RepetitionPenalty = RepetitionPenalty ?? fallback.RepetitionPenalty,
        MaxNewTokens = MaxNewTokens ?? fallback.MaxNewTokens,
        MaxLength = MaxLength ?? fallback.MaxLength,
    };

    /// <summary><paramref name="parameters"/> with each default where the request did not give the field (<paramref name="given"/>).</summary>
    public SamplingParameters Apply(SamplingParameters parameters, IReadOnlySet<string> given) => parameters with
    {
        Temperature = Temperature is { } t && !given.Contains("temperature") ? t : parameters.Temperature,
        TopP = TopP is { } p && !given.Contains("top_p") ? p : parameters.TopP,
        TopK = TopK is { } k && !given.Contains("top_k") ? k : parameters.TopK,
        RepetitionPenalty = RepetitionPenalty is { } r && !given.Contains("repetition_penalty") ? r : parameters.RepetitionPenalty,
    };
}
