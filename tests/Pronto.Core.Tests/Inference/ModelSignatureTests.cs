using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.Core.Tests.Inference;

/// <summary>The inputs and outputs model metadata lists, from config and processing.</summary>
public sealed class ModelSignatureTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-signature-").FullName;
    private readonly ModelRepository _repository;

    public ModelSignatureTests() => _repository = new ModelRepository(_root, [new OnnxBackend()]);

    [Fact]
    public void A_model_without_processing_lists_its_engine_tensors_with_the_batch_dimension()
    {
        TinyModels.WriteAddConstant(_root, "adder", 1f, 3);
        Assert.Equal("x FP32 [-1,3] -> y FP32 [-1,3]", Signature("adder"));
    }

    [Fact]
    public void A_batching_fields_model_adds_its_bytes_input_and_the_expanded_binary_probabilities()
    {
        // One score per row with two labels: the produced probabilities are [n, 2], under the engine output's name.
        TinyModels.WriteAddConstant(_root, "binary", 0f, 1);
        File.WriteAllLines(Path.Combine(_root, "binary", "labels.txt"), ["no", "yes"]);
        File.WriteAllText(Path.Combine(_root, "binary", "config.pbtxt"), """
            max_batch_size: 16
            input [ { name: "x" data_type: TYPE_FP32 dims: [ 1 ] } ]
            output [ { name: "y" data_type: TYPE_FP32 dims: [ 1 ] label_filename: "labels.txt" } ]
            parameters { key: "pronto.prepare" value { string_value: "fields" } }
            parameters { key: "pronto.fields.names" value { string_value: "p" } }
            parameters { key: "pronto.produce" value { string_value: "classify" } }
            parameters { key: "pronto.classify.output" value { string_value: "y" } }
            """);
        Assert.Equal("x FP32 [-1,1], fields BYTES [-1,1] -> y FP32 [-1,1], probabilities FP32 [-1,2]", Signature("binary"));
    }

    [Fact]
    public void A_model_that_does_not_batch_takes_n_items_and_keeps_its_rows_in_the_produced_shape()
    {
        TinyModels.WriteIdentity(_root, "fixed", DataType.FP32, [4L, 2L]);
        File.WriteAllText(Path.Combine(_root, "fixed", "config.pbtxt"), """
            parameters { key: "pronto.prepare" value { string_value: "fields" } }
            parameters { key: "pronto.fields.names" value { string_value: "a,b" } }
            parameters { key: "pronto.produce" value { string_value: "embedding" } }
            parameters { key: "pronto.embedding.pooling" value { string_value: "none" } }
            """);
        Assert.Equal("x FP32 [4,2], fields BYTES [-1] -> y FP32 [4,2], embedding FP32 [4,2]", Signature("fixed"));
    }

    public void Dispose()
    {
        _repository.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>"inputs -> outputs", each tensor as <c>name DATATYPE [shape]</c>.</summary>
    private string Signature(string name)
    {
        _repository.Load(name);
        using var lease = _repository.Acquire(name);
        var signature = lease.Model.Signature;
        return $"{string.Join(", ", signature.Inputs)} -> {string.Join(", ", signature.Outputs)}";
    }
}
