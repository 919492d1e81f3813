using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Xunit;

namespace Pronto.Core.Tests.Configuration;

/// <summary>A field Triton's ModelConfig does not have, or a pronto.* key Pronto does not know, fails the parse with its position.</summary>
public sealed class StrictConfigTests
{
    private const string KnownKeys =
        "pronto.batch.run_size, pronto.classify.activation, pronto.classify.output, "
        + "pronto.dynamic_batching.eager, pronto.embedding.mask_input, pronto.embedding.normalize, pronto.embedding.output, "
        + "pronto.embedding.pooling, pronto.fields.input, pronto.fields.names, pronto.generative, pronto.generative.chat_template, "
        + "pronto.generative.context_length, pronto.generative.max_cache_tokens, pronto.generative.max_running, pronto.generative.max_step_tokens, pronto.generative.max_waiting, pronto.idle_unload_seconds, pronto.image.channel_order, pronto.image.height, "
        + "pronto.image.input, pronto.image.max_pixels, pronto.image.mean, pronto.image.mean_file, pronto.image.resize, pronto.image.scale, "
        + "pronto.image.std, pronto.image.width, pronto.prepare, pronto.produce, pronto.queue_wait_budget_ms, pronto.reject_non_finite, pronto.text.ids_input, pronto.text.lowercase, "
        + "pronto.text.mask_input, pronto.text.max_tokens, pronto.text.type_input, pronto.text.vocab";

    [Theory]
    [InlineData(
        "name: \"m\"\nmax_batch_size: 8\ndynamic_batchng { }\n",
        "config.pbtxt line 3, column 1: unknown field 'dynamic_batchng' in ModelConfig (did you mean 'dynamic_batching'?)")]
    [InlineData(
        "dynamic_batching {\n  max_queue_delay_microsecond: 100\n}\n",
        "config.pbtxt line 2, column 3: unknown field 'max_queue_delay_microsecond' in ModelDynamicBatching (did you mean 'max_queue_delay_microseconds'?)")]
    [InlineData(
        "dynamic_batching { default_queue_policy { max_queue: 4 } }",
        "config.pbtxt line 1, column 43: unknown field 'max_queue' in ModelQueuePolicy")]
    [InlineData(
        "dynamic_batching { priority_queue_policy { key: 1 value: { timeout: 5 } } }",
        "config.pbtxt line 1, column 60: unknown field 'timeout' in ModelQueuePolicy")]
    [InlineData(
        "input [\n  {\n    name: \"x\"\n    data_type: TYPE_FP32\n    dim: [ 3 ]\n  }\n]\n",
        "config.pbtxt line 5, column 5: unknown field 'dim' in ModelInput (did you mean 'dims'?)")]
    [InlineData(
        "input { name: \"x\" reshape { dims: [ 3 ] } }",
        "config.pbtxt line 1, column 29: unknown field 'dims' in ModelTensorReshape")]
    [InlineData(
        "output [ { name: \"y\" labels: \"labels.txt\" } ]",
        "config.pbtxt line 1, column 22: unknown field 'labels' in ModelOutput")]
    [InlineData(
        "instance_group [ { count: 2 kinds: KIND_CPU } ]",
        "config.pbtxt line 1, column 29: unknown field 'kinds' in ModelInstanceGroup (did you mean 'kind'?)")]
    [InlineData(
        "version_policy { latest { num_version: 2 } }",
        "config.pbtxt line 1, column 27: unknown field 'num_version' in ModelVersionPolicy.Latest (did you mean 'num_versions'?)")]
    [InlineData(
        "version_policy { newest { } }",
        "config.pbtxt line 1, column 18: unknown field 'newest' in ModelVersionPolicy")]
    [InlineData(
        "parameters { key: \"mode\" value: { string: \"fast\" } }",
        "config.pbtxt line 1, column 35: unknown field 'string' in ModelParameter")]
    [InlineData(
        "parameters { name: \"mode\" value: { string_value: \"fast\" } }",
        "config.pbtxt line 1, column 14: unknown field 'name' in ModelConfig.ParametersEntry")]
    [InlineData(
        "response_cache { enabled: true }",
        "config.pbtxt line 1, column 18: unknown field 'enabled' in ModelResponseCache (did you mean 'enable'?)")]
    public void An_unknown_field_is_rejected_with_its_position_and_message(string text, string message)
    {
        var error = Assert.Throws<ProntoException>(() => ModelConfigText.Parse(text, "m"));
        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData(
        "optimization { graph { levels: 1 } }",
        "config.pbtxt line 1, column 24: unknown field 'levels' in ModelOptimizationPolicy.Graph (did you mean 'level'?)")]
    [InlineData(
        "sequence_batching {\n  oldest { max_candidate_sequence: 4 }\n}",
        "config.pbtxt line 2, column 12: unknown field 'max_candidate_sequence' in ModelSequenceBatching.StrategyOldest (did you mean 'max_candidate_sequences'?)")]
    [InlineData(
        "ensemble_scheduling { step [ { model_name: \"a\" input_map { key: \"x\" val: \"y\" } } ] }",
        "config.pbtxt line 1, column 69: unknown field 'val' in ModelEnsembling.Step.InputMapEntry (did you mean 'value'?)")]
    [InlineData(
        "optimization { priority: PRIORITY_HIGH }",
        "config.pbtxt line 1, column 26: unknown priority 'PRIORITY_HIGH' (expected one of PRIORITY_DEFAULT, PRIORITY_MAX, PRIORITY_MIN)")]
    [InlineData(
        "optimization { cuda { graphs: 2 } }",
        "config.pbtxt line 1, column 31: expected true or false for 'graphs', found '2'")]
    [InlineData(
        "model_transaction_policy { decoupled: true }\nmodel_transaction_policy { decoupled: false }",
        "config.pbtxt line 2, column 1: 'model_transaction_policy' is given more than once")]
    [InlineData(
        "dynamic_batching { }\nsequence_batching { }",
        "config.pbtxt line 2, column 1: ModelConfig takes only one of 'dynamic_batching', 'sequence_batching' or 'ensemble_scheduling' ('dynamic_batching' is set already)")]
    public void The_blocks_pronto_does_not_act_on_are_checked_against_tritons_schema_too(string text, string message)
    {
        var error = Assert.Throws<ProntoException>(() => ModelConfigText.Parse(text, "m"));
        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Errors_name_the_file_the_config_came_from()
    {
        var error = Assert.Throws<ProntoException>(() => ModelConfigText.Parse("\n  max_batch: 4", "m", "/models/m/config.pbtxt"));
        Assert.Equal("/models/m/config.pbtxt line 2, column 3: unknown field 'max_batch' in ModelConfig", error.Message);
    }

    [Theory]
    [InlineData("optimization { execution_accelerators { gpu_execution_accelerator [ { name: \"tensorrt\" } ] } graph { level: 1 } }")]
    [InlineData("sequence_batching { max_sequence_idle_microseconds: 5000000 oldest { max_candidate_sequences: 4 } }")]
    [InlineData("ensemble_scheduling { step [ { model_name: \"a\" model_version: -1 input_map { key: \"x\" value: \"y\" } } ] }")]
    [InlineData("model_warmup [ { name: \"w\" batch_size: 1 inputs { key: \"x\" value: { data_type: TYPE_FP32 dims: [ 2 ] zero_data: true } } } ]")]
    [InlineData("backend: \"onnxruntime\" platform: \"onnxruntime_onnx\" runtime: \"\"")]
    [InlineData("version_policy: { all { } }")]
    [InlineData("batch_input [ { kind: BATCH_ELEMENT_COUNT target_name: \"n\" data_type: TYPE_INT32 source_input: \"x\" } ]")]
    [InlineData("batch_output [ { target_name: \"y\" kind: BATCH_SCATTER_WITH_INPUT_SHAPE source_input: \"x\" } ]")]
    [InlineData("cc_model_filenames { key: \"7.5\" value: \"model_t4.onnx\" } metric_tags { key: \"team\" value: \"fraud\" }")]
    [InlineData("model_operations { op_library_filename: \"libops.so\" } model_transaction_policy { decoupled: false }")]
    [InlineData("model_repository_agents { agents [ { name: \"checksum\" } ] }")]
    [InlineData("model_metrics { metric_control [ { metric_identifier { family: \"nv_inference_first_response_histogram_ms\" } } ] }")]
    [InlineData("instance_group [ { name: \"g\" kind: KIND_CPU count: 1 gpus: [ 0 ] profile: [ \"0\" ] passive: false host_policy: \"cpu\" rate_limiter { priority: 1 } secondary_devices [ { kind: KIND_NVDLA device_id: 0 } ] } ]")]
    [InlineData("input [ { name: \"x\" data_type: TYPE_FP32 format: FORMAT_NCHW dims: [ 3, 8, 8 ] is_shape_tensor: false allow_ragged_batch: false is_non_linear_format_io: false } ]")]
    [InlineData("output [ { name: \"y\" data_type: TYPE_FP32 dims: [ 2 ] is_shape_tensor: false is_non_linear_format_io: false } ]")]
    public void A_triton_field_pronto_does_not_implement_is_accepted(string text)
    {
        var config = ModelConfigText.Parse(text, "m");
        Assert.Equal("m", config.Name);
    }

    [Fact]
    public void An_unknown_pronto_parameter_is_rejected_with_its_position_and_the_known_keys()
    {
        const string text = """
            name: "m"
            parameters { key: "pronto.text.max_token" value { string_value: "64" } }
            """;
        var error = Assert.Throws<ProntoException>(() => ModelConfigText.Parse(text, "m"));
        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Equal(
            "config.pbtxt line 2, column 19: unknown Pronto parameter 'pronto.text.max_token' (did you mean 'pronto.text.max_tokens'?); "
            + "Pronto's parameters are " + KnownKeys,
            error.Message);
    }

    [Fact]
    public void An_unknown_pronto_parameter_far_from_every_key_gets_no_hint()
    {
        var error = Assert.Throws<ProntoException>(() => ModelConfigText.Parse("parameters { key: \"pronto.threads\" value { string_value: \"4\" } }", "m"));
        Assert.Equal("config.pbtxt line 1, column 19: unknown Pronto parameter 'pronto.threads'; Pronto's parameters are " + KnownKeys, error.Message);
    }

    [Fact]
    public void Every_known_pronto_key_and_any_key_without_the_prefix_is_accepted()
    {
        var text = string.Concat(ProntoParameters.Known.Select(k => $"parameters {{ key: \"{k}\" value {{ string_value: \"v\" }} }}\n"))
            + "parameters { key: \"intra_op_thread_count\" value { string_value: \"2\" } }\n"
            + "parameters { key: \"prontox.anything\" value { string_value: \"1\" } }\n";
        var config = ModelConfigText.Parse(text, "m");
        Assert.Equal(ProntoParameters.Known.Count + 2, config.Parameters.Count);
        Assert.Equal(KnownKeys, string.Join(", ", ProntoParameters.Known));
    }
}
