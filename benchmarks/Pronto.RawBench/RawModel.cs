using Pronto.Core.Inference;
using Pronto.Core.Processing;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Models.Fraud;
using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.RawBench;

/// <summary>
/// One model loaded as `pronto serve` loads it: a <see cref="ModelRepository"/> over Pronto.Onnx's backend, so the
/// session options, the shared intra-op pool and the <see cref="Core.Backends.IModelInstance.Run"/> call are the server's.
/// Owns the repository and the lease until disposed.
/// </summary>
internal sealed class RawModel : IDisposable
{
    // The text of benchmarks/bodies/minilm.json: 11 tokens with [CLS] and [SEP], the shape the server runs for that body.
    private const string ShortText = "my card was charged twice for the same order";

    private readonly ModelRepository _repository;
    private readonly ModelLease _lease;

    public RawModel(OnnxBackend backend, string repository, string name)
    {
        _repository = new ModelRepository(repository, [backend]);
        try
        {
            _repository.Load(name);
            _lease = _repository.Acquire(name);
        }
        catch
        {
            _repository.Dispose();
            throw;
        }

        OutputNames = [.. Model.Config.Outputs.Select(o => o.Name)];
        FilePath = Path.Combine(Model.ModelDirectory, Model.VersionText, Model.Config.DefaultModelFilename ?? backend.DefaultModelFilename);
    }

    public ServedModel Model => _lease.Model;

    public string[] OutputNames { get; }

    /// <summary>The ONNX file the session was made from.</summary>
    public string FilePath { get; }

    /// <summary>
    /// The inputs of one run of <paramref name="rows"/> rows, built before any clock starts: short texts through the
    /// model's own TextPreparer (the ids, mask and type ids the server runs), fraud rows from its transaction generator,
    /// and <see cref="GeneratedInputs"/> for any other model's FP32 inputs.
    /// </summary>
    public IReadOnlyList<NamedTensor> Inputs(int rows) => Model.Processing.Preparer switch
    {
        TextPreparer text => text.Prepare(Tensor.FromStrings(Enumerable.Repeat(ShortText, rows).ToArray())),
        FieldsPreparer fields when fields.FieldNames.SequenceEqual(FraudFeatures.Names) => [fields.FromRows(Transactions(rows), rows)],
        _ => Generated(rows),
    };

    public IReadOnlyList<NamedTensor> Run(IReadOnlyList<NamedTensor> inputs) => Model.Instance.Run(inputs, OutputNames, CancellationToken.None);

    public void Dispose()
    {
        _lease.Dispose();
        _repository.Dispose();
    }

    private static float[] Transactions(int rows)
    {
        var features = new float[rows * FraudFeatures.Count];
        var i = 0;
        foreach (var transaction in new TransactionGenerator(42).Generate(rows))
        {
            transaction.CopyFeaturesTo(features.AsSpan(i++ * FraudFeatures.Count, FraudFeatures.Count));
        }

        return features;
    }

    private NamedTensor[] Generated(int rows)
    {
        var config = Model.Config;
        if (config.MaxBatchSize == 0 && rows != 1)
        {
            throw new ArgumentException($"model '{config.Name}' has no batch dimension (max_batch_size 0): use --batch 1");
        }

        var inputs = new NamedTensor[config.Inputs.Count];
        for (var i = 0; i < inputs.Length; i++)
        {
            var input = config.Inputs[i];
            if (input.DataType != DataType.FP32 || input.Dims.Contains(-1))
            {
                throw new ArgumentException(
                    $"model '{config.Name}' input '{input.Name}' is {input.DataType.ToConfigName()} [{string.Join(",", input.Dims)}]: RawBench generates fixed-shape FP32 inputs only");
            }

            long[] shape = config.MaxBatchSize > 0 ? [rows, .. input.Dims] : input.Dims;
            // The first resnet18 image is the one `Pronto.ModelGen body resnet18` writes (same generator and seed).
            inputs[i] = new NamedTensor(input.Name, Tensor.Create(GeneratedInputs.Floats(Tensor.CountElements(shape)), shape));
        }

        return inputs;
    }
}
