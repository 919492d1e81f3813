using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;
using Pronto.Testing;

namespace Pronto.Onnx.Tests;

public sealed class OnnxBackendTests : IDisposable
{
    private readonly string _repository = Directory.CreateTempSubdirectory("pronto-backend-").FullName;

    [Fact]
    public void Derived_config_takes_a_dynamic_leading_axis_as_the_batch()
    {
        var path = TinyModels.WriteIdentity(_repository, "batched", DataType.FP32, ["batch", 4L]);
        var config = new OnnxBackend(new OnnxBackendOptions { DerivedMaxBatchSize = 16 }).DeriveConfig("batched", path);
        Assert.Equal("batched", config.Name);
        Assert.Equal("onnxruntime_onnx", config.Platform);
        Assert.Equal(16, config.MaxBatchSize);
        Assert.Equal("x", Assert.Single(config.Inputs).Name);
        Assert.Equal(DataType.FP32, config.Inputs[0].DataType);
        Assert.Equal([4L], config.Inputs[0].Dims);
        Assert.Equal("y", Assert.Single(config.Outputs).Name);
        Assert.Equal([4L], config.Outputs[0].Dims);
    }

    [Fact]
    public void Derived_config_of_fixed_shapes_has_no_batch_dimension()
    {
        var path = TinyModels.WriteIdentity(_repository, "fixed", DataType.Int32, [2L, "width"]);
        var config = new OnnxBackend().DeriveConfig("fixed", path);
        Assert.Equal(0, config.MaxBatchSize);
        Assert.Equal([2L, -1L], config.Inputs[0].Dims);
    }

    [Fact]
    public void A_corrupt_model_file_is_an_invalid_argument_with_the_engine_message()
    {
        var path = Path.Combine(_repository, "corrupt.onnx");
        File.WriteAllText(path, "this is not a protobuf");
        var error = Assert.Throws<ProntoException>(() => new OnnxBackend().DeriveConfig("corrupt", path));
        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.StartsWith("ONNX Runtime cannot load 'corrupt.onnx': ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_config_naming_an_input_the_model_lacks_fails_to_load()
    {
        var backend = new OnnxBackend();
        var path = TinyModels.WriteIdentity(_repository, "m", DataType.FP32, ["batch", 4L]);
        var config = backend.DeriveConfig("m", path);
        config.Inputs[0].Name = "features";
        var error = Assert.Throws<ProntoException>(() => backend.Load(config, path, CancellationToken.None));
        Assert.Equal("config.pbtxt declares input 'features', which the model does not have (its inputs: x)", error.Message);
    }

    [Fact]
    public void A_cancelled_run_throws_OperationCanceledException()
    {
        var backend = new OnnxBackend();
        var path = TinyModels.WriteAddConstant(_repository, "add", 1f, 4);
        var config = backend.DeriveConfig("add", path);
        using var instance = backend.Load(config, path, CancellationToken.None);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var input = new NamedTensor("x", Tensor.Create(new float[] { 1, 2, 3, 4 }, 1, 4));
        Assert.Throws<OperationCanceledException>(() => instance.Run([input], ["y"], cancelled.Token));
        Assert.Equal([2f, 3f, 4f, 5f], instance.Run([input], ["y"], CancellationToken.None)[0].Tensor.ToArray<float>());
    }

    [Fact]
    public void Cuda_falls_back_to_cpu_with_the_cpu_package()
    {
        var backend = new OnnxBackend(new OnnxBackendOptions { ExecutionProvider = "cuda" });
        Assert.Equal("CPUExecutionProvider", backend.ExecutionProviderInUse);
    }

    [Fact]
    public void Options_are_validated_with_the_option_name()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new OnnxBackend(new OnnxBackendOptions { GraphOptimizationLevel = "max" }));
        Assert.Contains("Pronto:Onnx:GraphOptimizationLevel", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_repository, recursive: true);
}
