using Pronto.Core.Errors;
using Pronto.Core.Repository;
using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.Core.Tests.Repository;

/// <summary>A config.pbtxt that says something Pronto would ignore leaves the model UNAVAILABLE with the reason, as Triton does.</summary>
public sealed class ConfigRejectionTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-strict-").FullName;
    private readonly ModelRepository _repository;

    public ConfigRejectionTests() => _repository = new ModelRepository(_root, [new OnnxBackend()]);

    [Fact]
    public void An_unknown_top_level_field_leaves_the_model_unavailable_with_file_line_and_field()
    {
        var config = Write("adder", "name: \"adder\"\nmax_batch_size: 8\ndynamic_batchng { max_queue_delay_microseconds: 100 }\n");
        AssertUnavailable("adder", $"{config} line 3, column 1: unknown field 'dynamic_batchng' in ModelConfig (did you mean 'dynamic_batching'?)");
    }

    [Fact]
    public void An_unknown_field_in_dynamic_batching_leaves_the_model_unavailable()
    {
        var config = Write("adder", "dynamic_batching {\n  preferred_batch_sizes: [ 4 ]\n}\n");
        AssertUnavailable("adder", $"{config} line 2, column 3: unknown field 'preferred_batch_sizes' in ModelDynamicBatching (did you mean 'preferred_batch_size'?)");
    }

    [Fact]
    public void An_unknown_field_in_an_input_leaves_the_model_unavailable()
    {
        var config = Write("adder", """
            max_batch_size: 8
            input [ { name: "x" data_type: TYPE_FP32 dims: [ 2 ] optionl: true } ]
            output [ { name: "y" data_type: TYPE_FP32 dims: [ 2 ] } ]
            """);
        AssertUnavailable("adder", $"{config} line 2, column 54: unknown field 'optionl' in ModelInput (did you mean 'optional'?)");
    }

    [Fact]
    public void An_unknown_pronto_parameter_leaves_the_model_unavailable_with_the_known_keys()
    {
        var config = Write("adder", "parameters {\n  key: \"pronto.reject_nonfinite\"\n  value { string_value: \"true\" }\n}\n");
        var row = AssertUnavailable("adder", null);
        Assert.StartsWith($"{config} line 2, column 8: unknown Pronto parameter 'pronto.reject_nonfinite' (did you mean 'pronto.reject_non_finite'?); Pronto's parameters are pronto.batch.run_size, pronto.classify.activation, ", row.Reason, StringComparison.Ordinal);
        Assert.EndsWith(", pronto.text.type_input, pronto.text.vocab", row.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Triton_fields_pronto_does_not_implement_load_and_serve()
    {
        Write("adder", """
            name: "adder"
            backend: "onnxruntime"
            max_batch_size: 8
            optimization { graph { level: 1 } execution_accelerators { cpu_execution_accelerator [ { name: "openvino" } ] } }
            model_warmup [ { name: "w" batch_size: 1 inputs { key: "x" value: { data_type: TYPE_FP32 dims: [ 2 ] zero_data: true } } } ]
            response_cache { enable: false }
            parameters { key: "intra_op_thread_count" value { string_value: "1" } }
            """);
        _repository.Load("adder");
        Assert.Equal(ModelState.Ready, Assert.Single(_repository.Index()).State);
    }

    [Theory]
    [InlineData("pronto.reject_non_finite", "yes", "model 'adder': config parameter 'pronto.reject_non_finite' must be true or false, got 'yes'")]
    [InlineData("pronto.batch.run_size", "x", "model 'adder': config parameter 'pronto.batch.run_size' must be an integer from 1 to max_batch_size 64, got 'x'")]
    [InlineData("pronto.batch.run_size", "65", "model 'adder': config parameter 'pronto.batch.run_size' must be an integer from 1 to max_batch_size 64, got '65'")]
    [InlineData("pronto.batch.run_size", "0", "model 'adder': config parameter 'pronto.batch.run_size' must be an integer from 1 to max_batch_size 64, got '0'")]
    [InlineData("pronto.dynamic_batching.eager", "1", "model 'adder': config parameter 'pronto.dynamic_batching.eager' must be true or false, got '1'")]
    [InlineData("pronto.text.vocab", "vocab.txt", "model 'adder': config parameter 'pronto.text.vocab' configures pronto.prepare 'text', but the model's pronto.prepare is not set")]
    [InlineData("pronto.classify.activation", "softmax", "model 'adder': config parameter 'pronto.classify.activation' configures pronto.produce 'classify', but the model's pronto.produce is not set")]
    public void An_invalid_or_ignored_value_of_a_known_key_leaves_the_model_unavailable(string key, string value, string reason)
    {
        TinyModels.WriteAddConstant(_root, "adder", 1f, 2);
        File.WriteAllText(Path.Combine(_root, "adder", "config.pbtxt"), Parameters((key, value)));
        AssertUnavailable("adder", reason);
    }

    [Fact]
    public void A_step_key_of_another_step_than_the_declared_one_is_refused()
    {
        TinyModels.WriteAddConstant(_root, "adder", 1f, 2);
        File.WriteAllText(Path.Combine(_root, "adder", "config.pbtxt"), Parameters(("pronto.prepare", "fields"), ("pronto.fields.names", "a,b"), ("pronto.image.scale", "2")));
        AssertUnavailable("adder", "model 'adder': config parameter 'pronto.image.scale' configures pronto.prepare 'image', but the model's pronto.prepare is 'fields'");
    }

    [Theory]
    [InlineData("pronto.image.scale", "1,2", "model 'image': config parameter 'pronto.image.scale' must be one number, got '1,2'")]
    [InlineData("pronto.image.height", "224", "model 'image': config parameter 'pronto.image.height' is 224, but input 'x' fixes it at 8")]
    [InlineData("pronto.image.width", "-3", "model 'image': config parameter 'pronto.image.width' must be a positive integer, got '-3'")]
    public void An_image_value_that_would_be_ignored_is_refused(string key, string value, string reason)
    {
        TinyModels.WriteConvChain(_root, "image", channels: 3, size: 8, layers: 1);
        File.WriteAllText(Path.Combine(_root, "image", "config.pbtxt"), Parameters(("pronto.prepare", "image"), (key, value)));
        AssertUnavailable("image", reason);
    }

    [Theory]
    [InlineData("pronto.embedding.mask_input", "mask", "model 'adder': its processing names input 'mask', which the model does not have")]
    [InlineData("pronto.embedding.normalize", "yes", "model 'adder': config parameter 'pronto.embedding.normalize' must be true or false, got 'yes'")]
    public void An_embedding_value_that_would_be_ignored_is_refused(string key, string value, string reason)
    {
        TinyModels.WriteAddConstant(_root, "adder", 1f, 2);
        File.WriteAllText(Path.Combine(_root, "adder", "config.pbtxt"), Parameters(("pronto.produce", "embedding"), ("pronto.embedding.pooling", "none"), (key, value)));
        AssertUnavailable("adder", reason);
    }

    public void Dispose()
    {
        _repository.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private static string Parameters(params (string Key, string Value)[] parameters) =>
        string.Concat(parameters.Select(p => $"parameters {{ key: \"{p.Key}\" value {{ string_value: \"{p.Value}\" }} }}\n"));

    /// <summary>Writes the adder model with <paramref name="text"/> as its config; returns the config's path.</summary>
    private string Write(string name, string text)
    {
        TinyModels.WriteAddConstant(_root, name, 1f, 2);
        var path = Path.Combine(_root, name, "config.pbtxt");
        File.WriteAllText(path, text);
        return path;
    }

    private ModelVersionStatus AssertUnavailable(string name, string? reason)
    {
        var error = Assert.Throws<ProntoException>(() => _repository.Load(name));
        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        var row = Assert.Single(_repository.Index());
        Assert.Equal(ModelState.Unavailable, row.State);
        if (reason is not null)
        {
            Assert.Equal(reason, error.Message);
            Assert.Equal(reason, row.Reason);
        }

        Assert.Equal(ErrorCode.Unavailable, Assert.Throws<ProntoException>(() => _repository.Acquire(name)).Code);
        return row;
    }
}
