using Pronto.Core.Configuration;
using Pronto.Core.Processing;
using Pronto.Core.Tensors;

namespace Pronto.Core.Inference;

/// <summary>A tensor as model metadata lists it; <see cref="Description"/> says what a processing tensor holds (null for the engine's).</summary>
public sealed record TensorSignature(string Name, DataType DataType, IReadOnlyList<long> Shape, string? Description = null)
{
    /// <summary><c>name DATATYPE [shape]</c>, as the CLI and error messages write a tensor.</summary>
    public override string ToString() => $"{Name} {DataType.ToProtocolName()} [{string.Join(",", Shape)}]";
}

/// <summary>
/// The inputs and outputs a client can use, the one list behind REST and gRPC model metadata and <c>pronto models</c>.
/// The engine's inputs come first, as before processing existed (a request may send them raw), then a preparer's
/// BYTES input (<c>text</c>, <c>image</c>, <c>fields</c>: one item per row, [-1, 1] when the model batches, [-1]
/// when not; [n] is accepted too); a request sends one form or the other. Likewise the engine's outputs, then a
/// producer's output (the default a request gets). Shapes carry the batch dimension as -1 when the model batches.
/// </summary>
public sealed class ModelSignature
{
    private ModelSignature(IReadOnlyList<TensorSignature> inputs, IReadOnlyList<TensorSignature> outputs)
    {
        Inputs = inputs;
        Outputs = outputs;
    }

    public IReadOnlyList<TensorSignature> Inputs { get; }

    public IReadOnlyList<TensorSignature> Outputs { get; }

    public static ModelSignature Create(ModelConfig config, ModelProcessing processing)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(processing);

        var batched = config.MaxBatchSize > 0;
        var inputs = new List<TensorSignature>(config.Inputs.Count + 1);
        var preparer = processing.Preparer;
        foreach (var t in config.Inputs)
        {
            if (t.Name != preparer?.InputName)
            {
                inputs.Add(new TensorSignature(t.Name, t.DataType, Shape(batched, t.Dims)));
            }
        }

        if (preparer is not null)
        {
            // One item per row: [n, 1] matches Triton's dims [1] for a batching model; without batching the
            // items are the n the engine's first dimension takes.
            inputs.Add(new TensorSignature(preparer.InputName, DataType.Bytes, batched ? [-1, 1] : [-1], preparer.ItemDescription));
        }

        var outputs = new List<TensorSignature>(config.Outputs.Count + 1);
        var producer = processing.Producer;
        foreach (var t in config.Outputs)
        {
            if (t.Name != producer?.OutputName)
            {
                outputs.Add(new TensorSignature(t.Name, t.DataType, Shape(batched, t.Dims)));
            }
        }

        if (producer is not null)
        {
            // Under the engine output's name when it keeps it (fraud's probabilities), described when it is new.
            var source = producer.OutputName == producer.SourceOutput ? null : $"from {producer.SourceOutput}";
            outputs.Add(new TensorSignature(producer.OutputName, DataType.FP32, Shape(batched, producer.Dims), source));
        }

        return new ModelSignature(inputs, outputs);
    }

    private static long[] Shape(bool batched, IReadOnlyList<long> dims)
    {
        var shape = new long[dims.Count + (batched ? 1 : 0)];
        var offset = 0;
        if (batched)
        {
            shape[0] = -1;
            offset = 1;
        }

        for (var i = 0; i < dims.Count; i++)
        {
            shape[offset + i] = dims[i];
        }

        return shape;
    }
}
