using System.Globalization;
using System.Text.Json;
using Pronto.Core.Errors;

namespace Pronto.Core.Generation;

/// <summary>
/// The decoder's tensor names. Defaults are Hugging Face Optimum's; ONNX Runtime GenAI's genai_config.json may
/// override each, the per-layer ones as printf patterns with one <c>%d</c> (<c>past_key_values.%d.key</c>,
/// <c>past_%d</c>, ...).
/// </summary>
public sealed record DecoderNames
{
    public static DecoderNames Optimum { get; } = new();

    public string InputIds { get; init; } = "input_ids";
    public string AttentionMask { get; init; } = "attention_mask";
    public string PositionIds { get; init; } = "position_ids";
    public string PastKey { get; init; } = "past_key_values.%d.key";
    public string PastValue { get; init; } = "past_key_values.%d.value";
    public string Logits { get; init; } = "logits";
    public string PresentKey { get; init; } = "present.%d.key";
    public string PresentValue { get; init; } = "present.%d.value";

    /// <summary>A per-layer pattern's name for <paramref name="layer"/>.</summary>
    public static string Layer(string pattern, int layer) => pattern.Replace("%d", layer.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
}

/// <summary>
/// What Pronto reads of ONNX Runtime GenAI's <c>genai_config.json</c> (the folder layout its model builder writes):
/// <c>model.decoder.filename</c>, the input/output name overrides under <c>model.decoder.inputs</c> / <c>.outputs</c>,
/// <c>model.context_length</c> and <c>model.eos_token_id</c> (a number or an array). A version folder holding the
/// file is a generative model with no config.pbtxt needed (platform <c>onnxruntime_genai</c>); Pronto's own decode loop
/// runs the decoder on its ONNX backend. The <c>search</c> section gives the model's sampling defaults (<see cref="SamplingDefaults"/>).
/// </summary>
public sealed record GenaiConfig(string DecoderFile, DecoderNames Names, int? ContextLength, IReadOnlyList<int> EosTokenIds, SamplingDefaults Search)
{
    public const string FileName = "genai_config.json";

    /// <summary>The file in <paramref name="versionDirectory"/>, or null when there is none; a malformed one is an invalid argument naming it.</summary>
    public static GenaiConfig? TryRead(string versionDirectory)
    {
        var path = Path.Combine(versionDirectory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return Parse(document.RootElement, path);
        }
        catch (JsonException e)
        {
            return ProntoErrors.InvalidArgument<GenaiConfig>($"{path} is not valid JSON: {e.Message}");
        }
    }

    private static GenaiConfig Parse(JsonElement root, string path)
    {
        JsonElement decoder = default;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object
            || !model.TryGetProperty("decoder", out decoder) || decoder.ValueKind != JsonValueKind.Object)
        {
            return ProntoErrors.InvalidArgument<GenaiConfig>($"{path} has no \"model\": {{ \"decoder\": {{ ... }} }} object");
        }

        string? Text(JsonElement parent, string name) =>
            parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value)
                ? value.ValueKind == JsonValueKind.String ? value.GetString() : ProntoErrors.InvalidArgument<string>($"{path}: '{name}' must be a string")
                : null;

        var file = Text(decoder, "filename") ?? "model.onnx";
        if (file.Length == 0 || Path.GetFileName(file) != file)
        {
            ProntoErrors.InvalidArgument($"{path}: model.decoder.filename must be a file name in the version folder, got '{file}'");
        }

        var inputs = decoder.TryGetProperty("inputs", out var i) ? i : default;
        var outputs = decoder.TryGetProperty("outputs", out var o) ? o : default;
        var defaults = DecoderNames.Optimum;
        string Pattern(JsonElement parent, string name, string fallback) =>
            Text(parent, name) is { } value
                ? value.Contains("%d", StringComparison.Ordinal) ? value : ProntoErrors.InvalidArgument<string>($"{path}: '{name}' must hold %d (the layer), got '{value}'")
                : fallback;
        var names = new DecoderNames
        {
            InputIds = Text(inputs, "input_ids") ?? defaults.InputIds,
            AttentionMask = Text(inputs, "attention_mask") ?? defaults.AttentionMask,
            PositionIds = Text(inputs, "position_ids") ?? defaults.PositionIds,
            PastKey = Pattern(inputs, "past_key_names", defaults.PastKey),
            PastValue = Pattern(inputs, "past_value_names", defaults.PastValue),
            Logits = Text(outputs, "logits") ?? defaults.Logits,
            PresentKey = Pattern(outputs, "present_key_names", defaults.PresentKey),
            PresentValue = Pattern(outputs, "present_value_names", defaults.PresentValue),
        };

        int? context = model.TryGetProperty("context_length", out var c)
            ? c.ValueKind == JsonValueKind.Number && c.TryGetInt32(out var n) && n > 0 ? n : ProntoErrors.InvalidArgument<int>($"{path}: model.context_length must be a positive integer")
            : null;
        var eos = new List<int>();
        if (model.TryGetProperty("eos_token_id", out var e))
        {
            foreach (var id in e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().ToArray() : [e])
            {
                eos.Add(id.ValueKind == JsonValueKind.Number && id.TryGetInt32(out var v) ? v : ProntoErrors.InvalidArgument<int>($"{path}: model.eos_token_id must be an integer or an array of them"));
            }
        }

        var search = root.TryGetProperty("search", out var sr) ? SamplingDefaults.Read(sr, path + " search") : SamplingDefaults.None;
        return new GenaiConfig(file, names, context, eos, search);
    }
}
