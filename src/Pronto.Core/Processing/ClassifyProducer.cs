using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;

namespace Pronto.Core.Processing;

/// <summary>
/// Raw class scores -> class probabilities FP32 [n, classes] under the output's labels.
/// <c>pronto.classify.activation</c>: <c>softmax</c> (logits), <c>sigmoid</c> (independent scores) or <c>none</c>
/// (already probabilities). A single-score output with two labels is read as P(second label) and expanded to
/// [1-p, p], so a binary model's one probability still yields "fraud: 97.3%".
/// </summary>
internal sealed class ClassifyProducer : IOutputProducer
{
    private readonly string _activation;

    private ClassifyProducer(string source, long[] dims, string activation, IReadOnlyList<string>? labels)
    {
        SourceOutput = source;
        Dims = dims;
        _activation = activation;
        Labels = labels;
    }

    public string OutputName => "probabilities";

    public string SourceOutput { get; }

    public IReadOnlyList<long> Dims { get; }

    public IReadOnlyList<string>? Labels { get; }

    public static ClassifyProducer Create(ProcessingParameters p, IReadOnlyDictionary<string, IReadOnlyList<string>> labels)
    {
        var output = p.Output(p.Get(ProntoParameters.ClassifyOutput) ?? p.Config.Outputs[0].Name);
        var activation = p.Get(ProntoParameters.ClassifyActivation) ?? "none";
        if (activation is not ("none" or "softmax" or "sigmoid"))
        {
            ProntoErrors.InvalidArgument($"model '{p.Config.Name}': pronto.classify.activation must be none, softmax or sigmoid, got '{activation}'");
        }

        if (output.DataType is not (DataType.FP32 or DataType.FP64))
        {
            ProntoErrors.InvalidArgument($"model '{p.Config.Name}': classify output '{output.Name}' must be FP32 or FP64");
        }

        labels.TryGetValue(output.Name, out var l);
        var dims = p.RowDims(output, item => ProcessingParameters.Elements(item) is 1 && l is { Count: 2 } ? 2 : ProcessingParameters.Elements(item));
        return new ClassifyProducer(output.Name, dims, activation, l);
    }

    public NamedTensor Produce(IReadOnlyList<NamedTensor> modelInputs, NamedTensor rawOutput)
    {
        var raw = rawOutput.Tensor;
        var scores = raw.DataType == DataType.FP64 ? Array.ConvertAll(raw.ToArray<double>(), v => (float)v) : raw.ToArray<float>();
        var n = raw.Rank == 0 ? 1 : (int)raw.Shape[0];
        var classes = n == 0 ? 0 : scores.Length / n;
        if (classes == 1 && Labels is { Count: 2 })
        {
            var expanded = new float[n * 2];
            for (var i = 0; i < n; i++)
            {
                var p = _activation == "sigmoid" ? Sigmoid(scores[i]) : scores[i];
                expanded[i * 2] = 1f - p;
                expanded[(i * 2) + 1] = p;
            }

            return new NamedTensor(OutputName, Tensor.Create(expanded, n, 2));
        }

        for (var i = 0; i < n; i++)
        {
            var row = scores.AsSpan(i * classes, classes);
            if (_activation == "softmax")
            {
                Softmax(row);
            }
            else if (_activation == "sigmoid")
            {
                for (var c = 0; c < row.Length; c++)
                {
                    row[c] = Sigmoid(row[c]);
                }
            }
        }

        return new NamedTensor(OutputName, Tensor.Create(scores, n, classes));
    }

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    private static void Softmax(Span<float> row)
    {
        // Subtracting the max keeps exp() from overflowing on large logits.
        var max = float.NegativeInfinity;
        foreach (var v in row)
        {
            max = Math.Max(max, v);
        }

        var sum = 0f;
        for (var c = 0; c < row.Length; c++)
        {
            row[c] = MathF.Exp(row[c] - max);
            sum += row[c];
        }

        for (var c = 0; c < row.Length; c++)
        {
            row[c] /= sum;
        }
    }
}
