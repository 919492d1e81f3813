using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Tensors;

namespace Pronto.Core.Generation;

/// <summary>
/// The tensors of a decoder in Hugging Face Optimum's layout, read from the model's config: <c>input_ids</c>,
/// <c>attention_mask</c>, optional <c>position_ids</c>, <c>past_key_values.{i}.key/value</c>
/// [batch, kv_heads, past, head_dim] FP32 -> <c>logits</c> [batch, seq, vocab], <c>present.{i}.key/value</c>; or the
/// same tensors under the names a genai_config.json gives (<see cref="DecoderNames"/>).
/// </summary>
public sealed class DecoderSignature
{
    private DecoderSignature(DecoderNames names, int layers, int heads, int headDim, bool hasPositionIds, long vocabSize)
    {
        Names = names;
        Layers = layers;
        Heads = heads;
        HeadDim = headDim;
        HasPositionIds = hasPositionIds;
        VocabSize = vocabSize;
        var past = new string[2 * layers];
        var outputs = new string[1 + (2 * layers)];
        outputs[0] = names.Logits;
        for (var i = 0; i < layers; i++)
        {
            past[2 * i] = DecoderNames.Layer(names.PastKey, i);
            past[(2 * i) + 1] = DecoderNames.Layer(names.PastValue, i);
            outputs[1 + (2 * i)] = DecoderNames.Layer(names.PresentKey, i);
            outputs[2 + (2 * i)] = DecoderNames.Layer(names.PresentValue, i);
        }

        PastNames = past;
        OutputNames = outputs;
    }

    /// <summary>The tensor names this decoder uses.</summary>
    public DecoderNames Names { get; }

    public int Layers { get; }

    /// <summary>Key/value heads (fewer than the query heads under grouped-query attention).</summary>
    public int Heads { get; }

    public int HeadDim { get; }

    public bool HasPositionIds { get; }

    /// <summary>
    /// Whether a batch's rows put each sequence's tokens first and the padding after them (right padding): decoders whose
    /// attention is ONNX Runtime's GroupQueryAttention, which reads each row's length from the attention mask's sum and
    /// writes the new keys and values after it (ONNX Runtime GenAI's model builder writes Llama, Phi, Qwen, Mistral so).
    /// Other decoders take left padding: their new keys go at the end of every row.
    /// </summary>
    public bool PadsRight { get; init; }

    /// <summary>The logits' last dimension; -1 when the model leaves it symbolic.</summary>
    public long VocabSize { get; }

    /// <summary>The past and present tensors' element type: FP32, or FP16 (fp16 exports); the loop keeps its cache in it.</summary>
    public DataType CacheType { get; init; } = DataType.FP32;

    /// <summary>The logits' element type: FP32, or FP16 (read as FP32 by the sampler).</summary>
    public DataType LogitsType { get; init; } = DataType.FP32;

    /// <summary>Past inputs in order: layer 0 key, layer 0 value, layer 1 key, ...</summary>
    public IReadOnlyList<string> PastNames { get; }

    /// <summary><c>logits</c>, then the present outputs in the order of <see cref="PastNames"/>.</summary>
    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>Reads the signature; a model that is not an Optimum-layout FP32 decoder is refused with the reason.</summary>
    public static DecoderSignature Create(ModelConfig config, DecoderNames? names = null, bool padsRight = false)
    {
        names ??= DecoderNames.Optimum;
        var layout = ReferenceEquals(names, DecoderNames.Optimum)
            ? "Hugging Face Optimum's layout: input_ids, attention_mask, past_key_values.{i}.key/value -> logits, present.{i}.key/value"
            : $"the names of its {GenaiConfig.FileName}: {names.InputIds}, {names.AttentionMask}, {names.PastKey}, {names.PastValue} -> {names.Logits}, {names.PresentKey}, {names.PresentValue}";
        TensorConfig Input(string name) => config.Inputs.Find(t => t.Name == name)
            ?? ProntoErrors.InvalidArgument<TensorConfig>($"generative model '{config.Name}' has no input '{name}' (Pronto reads decoders in {layout})");

        foreach (var name in (string[])[names.InputIds, names.AttentionMask])
        {
            if (Input(name).DataType != DataType.Int64)
            {
                ProntoErrors.InvalidArgument($"generative model '{config.Name}': input '{name}' must be INT64");
            }
        }

        var hasPositions = config.Inputs.Exists(t => t.Name == names.PositionIds);
        var layers = 0;
        while (config.Inputs.Exists(t => t.Name == DecoderNames.Layer(names.PastKey, layers)))
        {
            layers++;
        }

        var firstName = DecoderNames.Layer(names.PastKey, 0);
        var first = Input(firstName);
        var dims = first.Dims;
        if (dims.Length < 3 || dims[^3] <= 0 || dims[^1] <= 0)
        {
            ProntoErrors.InvalidArgument($"generative model '{config.Name}': {firstName} must be [batch, heads, past, head_dim] with fixed heads and head_dim, got [{string.Join(",", dims)}]");
        }

        var signature = new DecoderSignature(names, layers, (int)dims[^3], (int)dims[^1], hasPositions,
            config.Outputs.Find(t => t.Name == names.Logits)?.Dims is { Length: > 0 } logits ? logits[^1] : ProntoErrors.InvalidArgument<long>($"generative model '{config.Name}' has no output '{names.Logits}'"))
        {
            PadsRight = padsRight,
            CacheType = first.DataType,
            LogitsType = config.Outputs.Find(t => t.Name == names.Logits)!.DataType,
        };
        if (signature.CacheType is not (DataType.FP32 or DataType.FP16) || signature.LogitsType is not (DataType.FP32 or DataType.FP16))
        {
            ProntoErrors.Unsupported($"generative model '{config.Name}': its cache is {signature.CacheType.ToConfigName()} and its logits {signature.LogitsType.ToConfigName()}; Pronto's decode loop reads FP32 or FP16");
        }

        foreach (var name in signature.PastNames)
        {
            var past = Input(name);
            if (past.DataType != signature.CacheType)
            {
                ProntoErrors.InvalidArgument($"generative model '{config.Name}': '{name}' is {past.DataType.ToConfigName()} but '{firstName}' is {signature.CacheType.ToConfigName()}: every past input must have one type");
            }
        }

        foreach (var name in signature.OutputNames)
        {
            if (!config.Outputs.Exists(t => t.Name == name))
            {
                ProntoErrors.InvalidArgument($"generative model '{config.Name}' has no output '{name}'");
            }
        }

        var expected = 2 + (hasPositions ? 1 : 0) + (2 * layers);
        if (config.Inputs.Count != expected)
        {
            var extra = config.Inputs.Select(t => t.Name).Except([names.InputIds, names.AttentionMask, names.PositionIds, .. signature.PastNames]);
            ProntoErrors.Unsupported($"generative model '{config.Name}' has inputs Pronto's decode loop does not feed: {string.Join(", ", extra)}");
        }

        return signature;
    }
}
