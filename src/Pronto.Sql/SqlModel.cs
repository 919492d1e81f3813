using System.Globalization;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Processing;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;

namespace Pronto.Sql;

/// <summary>What a model takes from SQL arguments.</summary>
internal enum SqlInputKind
{
    /// <summary>Named numeric fields (the model's <c>pronto.prepare: fields</c>), one argument per field.</summary>
    Fields,

    /// <summary>One text argument (<c>pronto.prepare: text</c>).</summary>
    Text,

    /// <summary>No preparation: one FP32 input [batch, k], one argument per feature.</summary>
    Features,
}

/// <summary>
/// How SQL arguments become one model's inputs and how its default output becomes a SQL value, read once
/// per chunk from the leased model: the model's own processing (fields order, tokenizer, labels) is reused.
/// </summary>
internal sealed class SqlModel
{
    private readonly FieldsPreparer? _fields;
    private readonly string _featureInput;

    private SqlModel(ServedModel model)
    {
        Name = model.Name;
        var config = model.Config;
        MaxBatchSize = config.PreferredRunSize;
        OutputName = InferenceService.DefaultOutputs(model)[0].Name;
        Labels = model.Processing.GetLabels(OutputName);
        _featureInput = "";
        switch (model.Processing.Preparer)
        {
            case FieldsPreparer fields:
                Kind = SqlInputKind.Fields;
                _fields = fields;
                ArgumentNames = fields.FieldNames;
                break;
            case { InputName: "text" }:
                Kind = SqlInputKind.Text;
                ArgumentNames = ["text"];
                break;
            case { } other:
                throw new ProntoException(ErrorCode.Unsupported, $"model '{Name}' takes {other.ItemDescription}, which SQL functions do not read; use `pronto predict` or the server");
            default:
                var input = SingleFeatureInput(config);
                Kind = SqlInputKind.Features;
                _featureInput = input.Name;
                var width = input.Dims[^1];
                var names = new string[width];
                for (var i = 0; i < names.Length; i++)
                {
                    names[i] = string.Create(CultureInfo.InvariantCulture, $"{input.Name}[{i}]");
                }

                ArgumentNames = names;
                break;
        }

        if (model.Processing.Producer is { OutputName: "embedding" } producer)
        {
            var source = config.Outputs.Find(o => o.Name == producer.SourceOutput);
            EmbeddingDimensions = source is { Dims.Length: > 0 } && source.Dims[^1] > 0 ? (int)source.Dims[^1] : 0;
        }
    }

    public string Name { get; }

    public SqlInputKind Kind { get; }

    /// <summary>The arguments after the model name, in order (fields in <c>pronto.fields.names</c> order).</summary>
    public IReadOnlyList<string> ArgumentNames { get; }

    /// <summary>Rows per engine run (<see cref="Core.Configuration.ModelConfig.PreferredRunSize"/>); 0: the model does not batch, a whole chunk goes in one run of shape [n, ...].</summary>
    public int MaxBatchSize { get; }

    public string OutputName { get; }

    public IReadOnlyList<string>? Labels { get; }

    /// <summary>Size of the produced embedding when the model declares one and its config fixes it, else 0.</summary>
    public int EmbeddingDimensions { get; }

    public bool IsEmbedding => EmbeddingDimensions > 0;

    /// <summary>Reads the model's SQL shape under a short lease (it never outlives the lease's model version's config).</summary>
    public static SqlModel Resolve(ModelRepository repository, string name)
    {
        using var lease = repository.Acquire(name);
        return new SqlModel(lease.Model);
    }

    /// <summary>Inputs for <paramref name="rows"/> rows of features laid out row-major in <paramref name="features"/>.</summary>
    public IReadOnlyList<NamedTensor> FeatureInputs(float[] features, int rows) => Kind switch
    {
        SqlInputKind.Fields => [_fields!.FromRows(features, rows)],
        SqlInputKind.Features => [new NamedTensor(_featureInput, Tensor.Create(features, rows, ArgumentNames.Count))],
        _ => throw new InvalidOperationException("text models take text, not features"),
    };

    /// <summary>Inputs for UTF-8 texts (the model's preparer tokenizes them).</summary>
    public static IReadOnlyList<NamedTensor> TextInputs(ReadOnlyMemory<byte>[] texts) =>
        [new NamedTensor("text", Tensor.FromStrings(texts, texts.Length))];

    /// <summary>The default output as FP32 values and its per-row width.</summary>
    public static (float[] Values, int Width) ReadOutput(Tensor tensor, int rows)
    {
        float[] values = tensor.DataType switch
        {
            DataType.FP32 => tensor.ToArray<float>(),
            DataType.FP64 => Array.ConvertAll(tensor.ToArray<double>(), v => (float)v),
            DataType.Int64 => Array.ConvertAll(tensor.ToArray<long>(), v => (float)v),
            DataType.Int32 => Array.ConvertAll(tensor.ToArray<int>(), v => (float)v),
            _ => throw new ProntoException(ErrorCode.Unsupported, $"output {tensor} is not numeric"),
        };
        return (values, rows == 0 ? 0 : values.Length / rows);
    }

    private TensorConfig SingleFeatureInput(ModelConfig config)
    {
        if (config.Inputs.Count == 1 && config.Inputs[0] is { DataType: DataType.FP32 } input)
        {
            var dims = input.Dims;
            var batched = config.MaxBatchSize > 0 ? dims.Length == 1 : dims.Length == 2 && dims[0] < 0;
            if (batched && dims[^1] > 0)
            {
                return input;
            }
        }

        throw new ProntoException(ErrorCode.Unsupported, $"model '{Name}' declares no SQL-readable input: SQL functions take models with fields or text processing, or one FP32 input of fixed width");
    }
}
