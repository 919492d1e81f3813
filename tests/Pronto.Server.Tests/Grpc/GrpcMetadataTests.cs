using Google.Protobuf;
using Grpc.Core;
using Pronto.Server.Tests.GrpcClient;

namespace Pronto.Server.Tests.Grpc;

[Collection(ServerCollection.Name)]
public sealed class GrpcMetadataTests(ServerFixture fixture) : IDisposable
{
    private readonly GrpcConnection _grpc = new(fixture.Server);

    [Fact]
    public async Task Server_is_live_and_ready_once_the_bundled_models_are_loaded()
    {
        Assert.True((await _grpc.Client.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.True((await _grpc.Client.ServerReadyAsync(new ServerReadyRequest())).Ready);
    }

    [Fact]
    public async Task Server_metadata_names_pronto_and_its_extensions()
    {
        var metadata = await _grpc.Client.ServerMetadataAsync(new ServerMetadataRequest());
        Assert.Equal("pronto", metadata.Name);
        Assert.Equal(ServerInfo.Version, metadata.Version);
        Assert.Equal(["classification", "binary_tensor_data", "model_repository", "model_configuration", "statistics"], metadata.Extensions);
    }

    [Fact]
    public async Task Model_metadata_of_fraud_gives_its_tensors_with_the_batch_dimension()
    {
        var metadata = await _grpc.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "fraud" });
        Assert.Equal("fraud", metadata.Name);
        Assert.Equal(["1"], metadata.Versions);
        Assert.Equal("onnxruntime_onnx", metadata.Platform);
        Assert.Equal(["features FP32 [-1,6]", "fields BYTES [-1,1]"], Tensors(metadata.Inputs));
        var output = Assert.Single(metadata.Outputs);
        Assert.Equal(("probabilities", "FP32"), (output.Name, output.Datatype));
        Assert.Equal([-1L, 2L], output.Shape);
    }

    [Theory]
    [InlineData("minilm", "input_ids INT64 [-1,-1]|attention_mask INT64 [-1,-1]|token_type_ids INT64 [-1,-1]|text BYTES [-1,1]", "last_hidden_state FP32 [-1,-1,384]|embedding FP32 [-1,384]")]
    [InlineData("resnet18", "Input247 FP32 [-1,3,224,224]|image BYTES [-1,1]", "Pooling395_Output_0 FP32 [-1,512,1,1]|embedding FP32 [-1,512]")]
    public async Task Model_metadata_lists_the_bytes_input_of_a_model_with_processing_as_rest_does(string model, string inputs, string outputs)
    {
        var metadata = await _grpc.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = model });
        Assert.Equal(inputs.Split('|'), Tensors(metadata.Inputs));
        Assert.Equal(outputs.Split('|'), Tensors(metadata.Outputs));
    }

    [Fact]
    public async Task Model_ready_is_true_for_a_loaded_model_and_not_found_for_an_unknown_one()
    {
        Assert.True((await _grpc.Client.ModelReadyAsync(new ModelReadyRequest { Name = "fraud" })).Ready);
        Assert.True((await _grpc.Client.ModelReadyAsync(new ModelReadyRequest { Name = "fraud", Version = "1" })).Ready);
        var error = await Assert.ThrowsAsync<RpcException>(async () => await _grpc.Client.ModelReadyAsync(new ModelReadyRequest { Name = "no-such-model" }));
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("unknown model 'no-such-model'", error.Status.Detail);

        var version = await Assert.ThrowsAsync<RpcException>(async () => await _grpc.Client.ModelReadyAsync(new ModelReadyRequest { Name = "fraud", Version = "7" }));
        Assert.Equal(StatusCode.NotFound, version.StatusCode);
    }

    [Fact]
    public async Task Model_config_of_fraud_is_triton_s_message()
    {
        var config = (await _grpc.Client.ModelConfigAsync(new ModelConfigRequest { Name = "fraud" })).Config;
        Assert.Equal("fraud", config.Name);
        Assert.Equal("onnxruntime_onnx", config.Platform);
        Assert.Equal("onnxruntime", config.Backend);
        Assert.Equal(4096, config.MaxBatchSize);
        var input = Assert.Single(config.Input);
        Assert.Equal(("features", DataType.TypeFp32), (input.Name, input.DataType));
        Assert.Equal([6L], input.Dims);
        var output = Assert.Single(config.Output);
        Assert.Equal(("probabilities", DataType.TypeFp32, "labels.txt"), (output.Name, output.DataType, output.LabelFilename));
        Assert.Equal([2L], output.Dims);
        Assert.Equal(1u, config.VersionPolicy.Latest.NumVersions);
        Assert.Equal("fields", config.Parameters["pronto.prepare"].StringValue);
    }

    [Theory]
    [InlineData("fraud")]
    [InlineData("minilm")]
    [InlineData("resnet18")]
    public async Task Rest_config_json_and_grpc_config_are_one_message(string model)
    {
        // gRPC's bytes read as Pronto's own schema (the client's copy of the .proto is a subset), REST's JSON read by
        // protobuf's parser with unknown fields refused: the two transports carry the same Triton message.
        var grpc = (await _grpc.Client.ModelConfigAsync(new ModelConfigRequest { Name = model })).Config;
        var fromGrpc = Pronto.Core.Configuration.Protocol.ModelConfig.Parser.ParseFrom(grpc.ToByteString());
        var json = await fixture.Http.GetStringAsync($"/v2/models/{model}/config");
        var fromRest = Google.Protobuf.JsonParser.Default.Parse<Pronto.Core.Configuration.Protocol.ModelConfig>(json);
        Assert.Equal(fromGrpc, fromRest);
        Assert.Equal(model, fromRest.Name);
        Assert.NotEmpty(fromRest.Input);
    }

    [Fact]
    public async Task Model_statistics_count_a_grpc_inference()
    {
        var request = new ModelStatisticsRequest { Name = "fraud" };
        var before = Assert.Single((await _grpc.Client.ModelStatisticsAsync(request)).ModelStats);
        var infer = new ModelInferRequest { ModelName = "fraud" };
        var input = GrpcTensors.Input("features", "FP32", 1, 6);
        input.Contents = new InferTensorContents { Fp32Contents = { 42.5f, 50, 0, 18, 3, 1 } };
        infer.Inputs.Add(input);
        await _grpc.Client.ModelInferAsync(infer);

        var after = Assert.Single((await _grpc.Client.ModelStatisticsAsync(request)).ModelStats);
        Assert.Equal(("fraud", "1"), (after.Name, after.Version));
        Assert.True(after.InferenceStats.Success.Count > before.InferenceStats.Success.Count);
        Assert.True(after.InferenceCount > before.InferenceCount);
        Assert.True(after.LastInference > 0);

        var all = await _grpc.Client.ModelStatisticsAsync(new ModelStatisticsRequest());
        Assert.Equal(["fraud", "minilm", "resnet18"], all.ModelStats.Select(s => s.Name));
    }

    public void Dispose() => _grpc.Dispose();

    private static List<string> Tensors(IEnumerable<ModelMetadataResponse.Types.TensorMetadata> tensors) =>
        [.. tensors.Select(t => $"{t.Name} {t.Datatype} [{string.Join(",", t.Shape)}]")];
}
