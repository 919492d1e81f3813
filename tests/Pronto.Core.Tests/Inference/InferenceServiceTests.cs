using System.Text;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.Core.Tests.Inference;

/// <summary>Validation before the engine, output selection and the classification extension.</summary>
public sealed class InferenceServiceTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-service-").FullName;
    private readonly ModelRepository _repository;
    private readonly InferenceService _service;

    public InferenceServiceTests()
    {
        TinyModels.WriteAddConstant(_root, "adder", 1f, 3);
        File.WriteAllText(Path.Combine(_root, "adder", "config.pbtxt"), """
            max_batch_size: 4
            input [ { name: "x" data_type: TYPE_FP32 dims: [ 3 ] } ]
            output [ { name: "y" data_type: TYPE_FP32 dims: [ 3 ] label_filename: "labels.txt" } ]
            """);
        File.WriteAllLines(Path.Combine(_root, "adder", "labels.txt"), ["cat", "dog", "bird"]);
        _repository = new ModelRepository(_root, [new OnnxBackend()]);
        _repository.Load("adder");
        _service = new InferenceService(_repository);
    }

    public static TheoryData<string, Tensor, string> BadInputs => new()
    {
        { "x", Tensor.Create(new double[] { 1, 2, 3 }, 1, 3), "input 'x': expected datatype FP32, got FP64" },
        { "x", Tensor.Create(new float[] { 1, 2, 3, 4 }, 1, 4), "input 'x': expected shape FP32 [-1,3], got [1,4]" },
        { "x", Tensor.Create(new float[] { 1, 2, 3 }, 3), "input 'x': expected shape FP32 [-1,3], got [3]" },
        { "x", Tensor.Create(new float[15], 5, 3), "input 'x': batch size 5 is outside 1..4 (max_batch_size of model 'adder')" },
        { "x", Tensor.Create(Array.Empty<float>(), 0, 3), "input 'x': batch size 0 is outside 1..4 (max_batch_size of model 'adder')" },
        { "z", Tensor.Create(new float[] { 1, 2, 3 }, 1, 3), "unexpected input 'z' for model 'adder'; its inputs are x" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Bad_inputs_are_rejected_before_the_engine_with_a_precise_message(string name, Tensor tensor, string message)
    {
        var error = Assert.Throws<ProntoException>(() => _service.InferDirect(new InferenceRequest { ModelName = "adder", Inputs = [new NamedTensor(name, tensor)] }));
        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void NaN_and_infinity_reach_the_model_by_default()
    {
        var response = _service.InferDirect(Request([1f, float.NaN, float.NegativeInfinity], new RequestedOutput("y")));

        var y = response.Outputs[0].Tensor.ToArray<float>();
        Assert.Equal(2f, y[0]);
        Assert.True(float.IsNaN(y[1]));
        Assert.Equal(float.NegativeInfinity, y[2]);
    }

    [Fact]
    public void NaN_and_infinity_are_refused_where_the_config_sets_reject_non_finite()
    {
        TinyModels.WriteAddConstant(_root, "strict", 1f, 3);
        TinyModels.RejectNonFinite(_root, "strict");
        _repository.Load("strict");
        var error = Assert.Throws<ProntoException>(() => _service.InferDirect(new InferenceRequest { ModelName = "strict", Inputs = [new NamedTensor("x", Tensor.Create(new[] { 1f, float.NaN, 3f }, 1, 3))] }));
        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Equal("input 'x' element 1 is NaN or infinite; model 'strict' takes finite numbers only (its config sets pronto.reject_non_finite)", error.Message);

        // A long input goes through the vectorized scan: the index is still exact.
        TinyModels.WriteAddConstant(_root, "wide", 0f, 1000);
        TinyModels.RejectNonFinite(_root, "wide");
        _repository.Load("wide");
        var values = new float[1000];
        values[777] = float.NegativeInfinity;
        error = Assert.Throws<ProntoException>(() => _service.InferDirect(new InferenceRequest { ModelName = "wide", Inputs = [new NamedTensor("x", Tensor.Create(values, 1, 1000))] }));
        Assert.StartsWith("input 'x' element 777 is NaN or infinite", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(64, null, 64)]
    [InlineData(64, new[] { 8, 16 }, 16)]
    [InlineData(32, new[] { 16, 128 }, 16)]
    [InlineData(0, null, 0)]
    public void The_preferred_run_size_is_the_largest_preferred_batch_size_within_the_maximum(int max, int[]? preferred, int expected)
    {
        var config = new Core.Configuration.ModelConfig { Name = "m", MaxBatchSize = max };
        if (preferred is not null)
        {
            config.DynamicBatching = new Core.Configuration.DynamicBatchingConfig();
            config.DynamicBatching.PreferredBatchSize.AddRange(preferred);
        }

        Assert.Equal(expected, config.PreferredRunSize);
    }

    [Theory]
    [InlineData(64, "32", 32)]
    [InlineData(64, "64", 64)]
    [InlineData(64, "65", 16)] // beyond max_batch_size: ignored, the preferred size holds
    [InlineData(64, "0", 16)]
    [InlineData(64, "x", 16)]
    [InlineData(0, "8", 0)] // a model that does not batch runs one row at a time whatever the parameter
    public void The_batch_run_size_parameter_sets_the_offline_run_size_within_the_maximum(int max, string value, int expected)
    {
        var config = new Core.Configuration.ModelConfig { Name = "m", MaxBatchSize = max, DynamicBatching = new Core.Configuration.DynamicBatchingConfig() };
        config.DynamicBatching.PreferredBatchSize.Add(16);
        config.Parameters[Core.Configuration.ModelConfig.RunSizeKey] = value;
        Assert.Equal(expected, config.PreferredRunSize);
    }

    [Fact]
    public void A_missing_input_is_named()
    {
        var error = Assert.Throws<ProntoException>(() => _service.InferDirect(new InferenceRequest { ModelName = "adder", Inputs = [] }));
        Assert.Equal("missing input 'x' for model 'adder' (expected FP32 [-1,3])", error.Message);
    }

    [Fact]
    public void An_unknown_output_is_named()
    {
        var error = Assert.Throws<ProntoException>(() => _service.InferDirect(Request([1, 2, 3], new RequestedOutput("nope"))));
        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Equal("unknown output 'nope' for model 'adder'; its outputs are y", error.Message);
    }

    [Fact]
    public void The_classification_extension_returns_score_index_label()
    {
        var response = _service.InferDirect(Request([0.5f, 2f, -1f], new RequestedOutput("y", Classification: 2)));
        var output = Assert.Single(response.Outputs);
        Assert.Equal("y", output.Name);
        Assert.Equal(DataType.Bytes, output.Tensor.DataType);
        Assert.Equal([1L, 2L], output.Tensor.Shape.ToArray());
        Assert.Equal(["3.000000:1:dog", "1.500000:0:cat"], output.Tensor.Strings.Select(s => Encoding.UTF8.GetString(s.Span)));
    }

    [Fact]
    public void The_response_echoes_the_id_and_names_the_version()
    {
        var response = _service.InferDirect(new InferenceRequest
        {
            ModelName = "adder",
            Id = "req-42",
            Inputs = [new NamedTensor("x", Tensor.Create(new float[] { 1, 2, 3 }, 1, 3))],
        });
        Assert.Equal("req-42", response.Id);
        Assert.Equal("adder", response.ModelName);
        Assert.Equal("1", response.ModelVersion);
        Assert.Equal([2f, 3f, 4f], response.Outputs[0].Tensor.ToArray<float>());
    }

    [Fact]
    public void An_unknown_model_is_not_found()
    {
        var error = Assert.Throws<ProntoException>(() => _service.InferDirect(new InferenceRequest { ModelName = "ghost", Inputs = [] }));
        Assert.Equal(ErrorCode.NotFound, error.Code);
        Assert.Equal("unknown model 'ghost'", error.Message);
    }

    public void Dispose()
    {
        _repository.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private static InferenceRequest Request(float[] values, RequestedOutput output) => new()
    {
        ModelName = "adder",
        Inputs = [new NamedTensor("x", Tensor.Create(values, 1, values.Length))],
        Outputs = [output],
    };
}
