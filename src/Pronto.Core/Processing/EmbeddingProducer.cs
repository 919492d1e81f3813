using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;

namespace Pronto.Core.Processing;

/// <summary>
/// Raw hidden states -> one embedding per row, FP32 [n, d]. <c>pronto.embedding.pooling</c>: <c>mean</c>
/// (average of the token vectors whose attention mask is 1, as sentence-transformers does), <c>cls</c>
/// (the first token) or <c>none</c> (the output flattened per row, e.g. [n,512,1,1] -> [n,512]);
/// <c>pronto.embedding.normalize</c> scales each vector to unit L2 norm.
/// </summary>
internal sealed class EmbeddingProducer : IOutputProducer
{
    private readonly string _pooling;
    private readonly bool _normalize;
    private readonly string _maskInput;

    private EmbeddingProducer(string source, long[] dims, string pooling, bool normalize, string maskInput)
    {
        SourceOutput = source;
        Dims = dims;
        _pooling = pooling;
        _normalize = normalize;
        _maskInput = maskInput;
    }

    public string OutputName => "embedding";

    public string SourceOutput { get; }

    public IReadOnlyList<long> Dims { get; }

    public IReadOnlyList<string>? Labels => null;

    public static EmbeddingProducer Create(ProcessingParameters p)
    {
        var output = p.Output(p.Get(ProntoParameters.EmbeddingOutput) ?? p.Config.Outputs[0].Name);
        var pooling = p.Get(ProntoParameters.EmbeddingPooling) ?? "mean";
        if (pooling is not ("mean" or "cls" or "none"))
        {
            ProntoErrors.InvalidArgument($"model '{p.Config.Name}': pronto.embedding.pooling must be mean, cls or none, got '{pooling}'");
        }

        if (output.DataType != DataType.FP32)
        {
            ProntoErrors.InvalidArgument($"model '{p.Config.Name}': embedding output '{output.Name}' must be FP32");
        }

        // The default mask input need not exist (the mean then covers every token); a named one must.
        var mask = p.Get(ProntoParameters.EmbeddingMaskInput) is { } named ? p.Input(named).Name : "attention_mask";
        // Pooling keeps each token vector's width; none flattens the row.
        var dims = p.RowDims(output, item => pooling == "none" ? ProcessingParameters.Elements(item) : item.Length > 0 ? item[^1] : -1);
        return new EmbeddingProducer(output.Name, dims, pooling, p.GetBool(ProntoParameters.EmbeddingNormalize, true), mask);
    }

    public NamedTensor Produce(IReadOnlyList<NamedTensor> modelInputs, NamedTensor rawOutput)
    {
        var raw = rawOutput.Tensor;
        var values = raw.Span<float>();
        var n = (int)raw.Shape[0];
        float[] result;
        int dim;
        if (_pooling == "none")
        {
            dim = n == 0 ? 0 : (int)(raw.ElementCount / n);
            result = values.ToArray();
        }
        else
        {
            if (raw.Rank != 3)
            {
                ProntoErrors.Internal($"pooling '{_pooling}' needs a [batch, tokens, dim] output, got [{string.Join(",", raw.Shape)}]");
            }

            var tokens = (int)raw.Shape[1];
            dim = (int)raw.Shape[2];
            result = new float[n * dim];
            var mask = FindMask(modelInputs, n, tokens);
            for (var i = 0; i < n; i++)
            {
                var target = result.AsSpan(i * dim, dim);
                if (_pooling == "cls")
                {
                    values.Slice(i * tokens * dim, dim).CopyTo(target);
                    continue;
                }

                var used = 0;
                for (var t = 0; t < tokens; t++)
                {
                    if (mask is not null && mask[(i * tokens) + t] == 0)
                    {
                        continue;
                    }

                    used++;
                    var token = values.Slice(((i * tokens) + t) * dim, dim);
                    for (var d = 0; d < dim; d++)
                    {
                        target[d] += token[d];
                    }
                }

                var inverse = 1f / Math.Max(used, 1);
                for (var d = 0; d < dim; d++)
                {
                    target[d] *= inverse;
                }
            }
        }

        if (_normalize)
        {
            for (var i = 0; i < n; i++)
            {
                Normalize(result.AsSpan(i * dim, dim));
            }
        }

        return new NamedTensor(OutputName, Tensor.Create(result, n, dim));
    }

    private long[]? FindMask(IReadOnlyList<NamedTensor> inputs, int n, int tokens)
    {
        foreach (var input in inputs)
        {
            if (input.Name == _maskInput && input.Tensor.ElementCount == (long)n * tokens)
            {
                return input.Tensor.DataType switch
                {
                    DataType.Int64 => input.Tensor.ToArray<long>(),
                    DataType.Int32 => Array.ConvertAll(input.Tensor.ToArray<int>(), v => (long)v),
                    _ => null,
                };
            }
        }

        return null;
    }

    private static void Normalize(Span<float> v)
    {
        double sum = 0;
        foreach (var x in v)
        {
            sum += x * x;
        }

        // An all-zero vector stays zero rather than becoming NaN.
        if (sum > 0)
        {
            var inverse = (float)(1 / Math.Sqrt(sum));
            for (var d = 0; d < v.Length; d++)
            {
                v[d] *= inverse;
            }
        }
    }
}
