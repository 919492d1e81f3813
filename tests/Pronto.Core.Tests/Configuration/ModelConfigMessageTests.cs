using System.Text.Json.Nodes;
using Google.Protobuf;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Tensors;
using Xunit;
using Message = Pronto.Core.Configuration.Protocol.ModelConfig;

namespace Pronto.Core.Tests.Configuration;

/// <summary>config.pbtxt, the /config JSON and gRPC's message are one schema (model_config.proto), mapped once.</summary>
public sealed class ModelConfigMessageTests
{
    private static ModelConfig Sample() => new()
    {
        Name = "m",
        MaxBatchSize = 8,
        Inputs = { new TensorConfig { Name = "x", DataType = DataType.FP32, Dims = [-1, 3] } },
        Outputs = { new TensorConfig { Name = "y", DataType = DataType.Int64, Dims = [2], LabelFilename = "labels.txt" } },
        VersionPolicy = VersionPolicy.Specific(1, 3),
        DynamicBatching = new DynamicBatchingConfig { PreferredBatchSize = { 4, 8 }, MaxQueueDelayMicroseconds = 100 },
        Parameters = { ["pronto.prepare"] = "fields" },
    };

    [Fact]
    public void Json_is_protobufs_json_with_tritons_names_every_scalar_field_and_64_bit_integers_as_numbers()
    {
        var json = ModelConfigMessage.ToJson(Sample()).AsObject();

        Assert.Equal(
            """{"name":"x","data_type":"TYPE_FP32","format":"FORMAT_NONE","dims":[-1,3],"is_shape_tensor":false,"allow_ragged_batch":false,"optional":false,"is_non_linear_format_io":false}""",
            json["input"]![0]!.ToJsonString());
        Assert.Equal("""{"specific":{"versions":[1,3]}}""", json["version_policy"]!.ToJsonString());
        Assert.Equal(
            """{"preferred_batch_size":[4,8],"max_queue_delay_microseconds":100,"preserve_ordering":false,"priority_levels":0,"default_priority_level":0,"default_queue_policy":{"timeout_action":"REJECT","default_timeout_microseconds":0,"allow_timeout_override":false,"max_queue_size":0},"priority_queue_policy":{}}""",
            json["dynamic_batching"]!.ToJsonString());
        Assert.Equal("""[{"name":"","count":1,"gpus":[],"kind":"KIND_CPU","profile":[],"passive":false,"secondary_devices":[],"host_policy":""}]""", json["instance_group"]!.ToJsonString());
        Assert.Equal("onnxruntime", (string?)json["backend"]);
        Assert.Equal("""{"pronto.prepare":{"string_value":"fields"}}""", json["parameters"]!.ToJsonString());

        // Every field of Triton's ModelConfig that is not an unset message is there, in field-number order.
        Assert.Equal(
            ["name", "platform", "version_policy", "max_batch_size", "input", "output", "instance_group", "default_model_filename",
             "cc_model_filenames", "metric_tags", "dynamic_batching", "parameters", "model_warmup", "backend", "batch_input", "batch_output", "runtime"],
            json.Select(p => p.Key));
    }

    [Fact]
    public void Json_parses_back_into_the_message_that_grpc_sends()
    {
        var sent = ModelConfigMessage.ToMessage(Sample(), served: true);
        var json = ModelConfigMessage.ToJson(Sample()).ToJsonString();

        var read = JsonParser.Default.Parse<Message>(json);
        Assert.Equal(sent, read);
        var back = ModelConfigMessage.FromMessage(read, "other");
        Assert.Equal(ModelConfigText.Format(ModelConfigMessage.FromMessage(sent, "other")), ModelConfigText.Format(back));
        Assert.Equal(("m", 100L), (back.Name, back.DynamicBatching!.MaxQueueDelayMicroseconds));
        Assert.Equal([-1L, 3L], back.Inputs[0].Dims);
    }

    [Fact]
    public void A_message_built_in_code_gets_the_same_value_checks_without_a_position()
    {
        var message = new Message { Name = "m", Input = { new Pronto.Core.Configuration.Protocol.ModelInput { Name = "x", Dims = { 2, -2 } } } };

        var error = Assert.Throws<ProntoException>(() => ModelConfigMessage.FromMessage(message, "m"));
        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Equal("'dims' must be at least -1, found -2", error.Message);
    }

    [Fact]
    public void Text_keeps_the_blocks_pronto_does_not_act_on_in_the_message()
    {
        const string text = """
            name: "m"
            optimization { execution_accelerators { cpu_execution_accelerator [ { name: "openvino" } ] } }
            model_transaction_policy { decoupled: true }
            """;

        var message = TextFormat.Parse<Message>(text, "config.pbtxt", out _);

        Assert.Equal("openvino", Assert.Single(message.Optimization.ExecutionAccelerators.CpuExecutionAccelerator).Name);
        Assert.True(message.ModelTransactionPolicy.Decoupled);
        Assert.Equal(
            "name: \"m\"\noptimization {\n  execution_accelerators {\n    cpu_execution_accelerator [\n      {\n        name: \"openvino\"\n      }\n    ]\n  }\n}\nmodel_transaction_policy {\n  decoupled: true\n}\n",
            TextFormat.Format(message));
    }
}
