using System.Globalization;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Tensors;

namespace Pronto.Core.Generation;

/// <summary>
/// The tensors of a decoder in Hugging Face Optimum's layout, read from the model's config: <c>input_ids</c>,
/// <c>attention_mask</c>, optional <c>position_ids</c>, <c>past_key_values.{i}.key/value</c>
/// [batch, kv_heads, past, head_dim] FP32 -> <c>logits</c> [batch, seq, vocab], <c>present.{i}.key/value</c>.
/// </summary>
public sealed class DecoderSignature
{
    public const string InputIds = "input_ids";
    public const string AttentionMask = "attention_mask";
    public const string PositionIds = "position_ids";
    public const string Logits = "logits";

    private DecoderSignature(int layers, int heads, int headDim, bool hasPositionIds, long vocabSize)
    {
        Layers = layers;
        Heads = heads;
        HeadDim = headDim;
        HasPositionIds = hasPositionIds;
        VocabSize = vocabSize;
        var past = new string[2 * layers];
        var outputs = new string[1 + (2 * layers)];
        outputs[0] = Logits;
        for (var i = 0; i < layers; i++)
        {
            past[2 * i] = string.Create(CultureInfo.InvariantCulture, $"past_key_values.{i}.key");
            past[(2 * i) + 1] = string.Create(CultureInfo.InvariantCulture, $"past_key_values.{i}.value");
            outputs[1 + (2 * i)] = string.Create(CultureInfo.InvariantCulture, $"present.{i}.key");
            outputs[2 + (2 * i)] = string.Create(CultureInfo.InvariantCulture, $"present.{i}.value");
        }

        PastNames = past;
        OutputNames = outputs;
    }

    public int Layers { get; }

    /// <summary>Key/value heads (fewer than the query heads under grouped-query attention).</summary>
    public int Heads { get; }

    public int HeadDim { get; }

    public bool HasPositionIds { get; }

    /// <summary>The logits' last dimension; -1 when the model leaves it symbolic.</summary>
    public long VocabSize { get; }

    /// <summary>Past inputs in order: layer 0 key, layer 0 value, layer 1 key, ...</summary>
    public IReadOnlyList<string> PastNames { get; }

    /// <summary><c>logits</c>, then the present outputs in the order of <see cref="PastNames"/>.</summary>
    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>Reads the signature; a model that is not an Optimum-layout FP32 decoder is refused with the reason.</summary>
    public static DecoderSignature Create(ModelConfig config)
    {
        TensorConfig Input(string name) => config.Inputs.Find(t => t.Name == name)
            ?? ProntoErrors.InvalidArgument<TensorConfig>($"generative model '{config.Name}' has no input '{name}' (Pronto reads decoders in Hugging Face Optimum's layout: input_ids, attention_mask, past_key_values.{{i}}.key/value -> logits, present.{{i}}.key/value)");

        foreach (var name in (string[])[InputIds, AttentionMask])
        {
            if (Input(name).DataType != DataType.Int64)
            {
                ProntoErrors.InvalidArgument($"generative model '{config.Name}': input '{name}' must be INT64");
            }
        }

        var hasPositions = config.Inputs.Exists(t => t.Name == PositionIds);
        var layers = 0;
        while (config.Inputs.Exists(t => t.Name == string.Create(CultureInfo.InvariantCulture, $"past_key_values.{layers}.key")))
        {
            layers++;
        }

        if (layers == 0)
        {
            Input("past_key_values.0.key");
        }

        var first = Input("past_key_values.0.key");
        var dims = first.Dims;
        if (dims.Length < 3 || dims[^3] <= 0 || dims[^1] <= 0)
        {
            ProntoErrors.InvalidArgument($"generative model '{config.Name}': past_key_values.0.key must be [batch, heads, past, head_dim] with fixed heads and head_dim, got [{string.Join(",", dims)}]");
        }

        var signature = new DecoderSignature(layers, (int)dims[^3], (int)dims[^1], hasPositions,
            config.Outputs.Find(t => t.Name == Logits)?.Dims is { Length: > 0 } logits ? logits[^1] : ProntoErrors.InvalidArgument<long>($"generative model '{config.Name}' has no output 'logits'"));
        foreach (var name in signature.PastNames)
        {
            var past = Input(name);
            if (past.DataType != DataType.FP32)
            {
                ProntoErrors.Unsupported($"generative model '{config.Name}': '{name}' is {past.DataType.ToConfigName()}; Pronto's decode loop keeps an FP32 cache so far");
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
            var extra = config.Inputs.Select(t => t.Name).Except([InputIds, AttentionMask, PositionIds, .. signature.PastNames]);
            ProntoErrors.Unsupported($"generative model '{config.Name}' has inputs Pronto's decode loop does not feed: {string.Join(", ", extra)}");
        }

        return signature;
    }
}
