using System.Net;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;
using Pronto.Models;
using Pronto.Server.Tests.GrpcClient;

namespace Pronto.Server.Tests.Grpc;

[Collection(ServerCollection.Name)]
public sealed class GrpcInferTests(ServerFixture fixture) : IDisposable
{
    private const string Legit = """{"amount": 42.5, "customer_avg_amount": 50, "merchant_category": 0, "hour": 18, "distance_km": 3, "txn_last_hour": 1}""";
    private const string Fraud = """{"amount": 1900, "customer_avg_amount": 45, "merchant_category": 7, "hour": 3, "distance_km": 4200, "txn_last_hour": 9}""";
    private static readonly float[] Features = [42.5f, 50, 0, 18, 3, 1, 1900, 45, 7, 3, 4200, 9];

    private readonly GrpcConnection _grpc = new(fixture.Server);

    private InferenceService Service => fixture.Server.Services.GetRequiredService<InferenceService>();

    [Fact]
    public async Task Fraud_typed_and_raw_inputs_give_the_direct_service_result()
    {
        var typed = new ModelInferRequest { ModelName = "fraud", Id = "typed-1" };
        var input = GrpcTensors.Input("features", "FP32", 2, 6);
        input.Contents = new InferTensorContents { Fp32Contents = { Features } };
        typed.Inputs.Add(input);

        var raw = new ModelInferRequest { ModelName = "fraud", ModelVersion = "1" };
        raw.Inputs.Add(GrpcTensors.Input("features", "FP32", 2, 6));
        raw.RawInputContents.Add(GrpcTensors.Raw(Features));

        var fromTyped = await _grpc.Client.ModelInferAsync(typed);
        var fromRaw = await _grpc.Client.ModelInferAsync(raw);
        var direct = Service.InferDirect(new InferenceRequest { ModelName = "fraud", Inputs = [new NamedTensor("features", Tensor.Create(Features, 2, 6))] });

        Assert.Equal(("fraud", "1", "typed-1"), (fromTyped.ModelName, fromTyped.ModelVersion, fromTyped.Id));
        foreach (var response in new[] { fromTyped, fromRaw })
        {
            var output = Assert.Single(response.Outputs);
            Assert.Equal(("probabilities", "FP32"), (output.Name, output.Datatype));
            Assert.Equal([2L, 2L], output.Shape);

            // Triton's behaviour: outputs always come back raw, typed contents empty.
            Assert.Null(output.Contents);
            Assert.Equal(direct.Outputs[0].Tensor.ToArray<float>(), GrpcTensors.Floats(Assert.Single(response.RawOutputContents)));
        }
    }

    [Fact]
    public async Task Fraud_fields_with_classification_return_score_index_label()
    {
        var request = new ModelInferRequest { ModelName = "fraud" };
        var input = GrpcTensors.Input("fields", "BYTES", 2);
        input.Contents = new InferTensorContents { BytesContents = { Google.Protobuf.ByteString.CopyFromUtf8(Legit), Google.Protobuf.ByteString.CopyFromUtf8(Fraud) } };
        request.Inputs.Add(input);
        var output = new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "probabilities" };
        output.Parameters["classification"] = new InferParameter { Int64Param = 1 };
        request.Outputs.Add(output);

        var response = await _grpc.Client.ModelInferAsync(request);

        var tensor = Assert.Single(response.Outputs);
        Assert.Equal(("probabilities", "BYTES"), (tensor.Name, tensor.Datatype));
        Assert.Equal([2L, 1L], tensor.Shape);
        var labels = GrpcTensors.Strings(Assert.Single(response.RawOutputContents));
        Assert.Equal(2, labels.Count);
        Assert.EndsWith(":0:legit", labels[0], StringComparison.Ordinal);
        Assert.EndsWith(":1:fraud", labels[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Minilm_embeds_text_to_a_unit_vector_equal_to_the_direct_result()
    {
        const string Text = "Pronto serves models over gRPC";
        var request = new ModelInferRequest { ModelName = "minilm" };
        request.Inputs.Add(GrpcTensors.Input("text", "BYTES", 1));
        request.RawInputContents.Add(GrpcTensors.RawStrings(Encoding.UTF8.GetBytes(Text)));

        var response = await _grpc.Client.ModelInferAsync(request);

        var output = Assert.Single(response.Outputs);
        Assert.Equal(("embedding", "FP32"), (output.Name, output.Datatype));
        Assert.Equal([1L, 384L], output.Shape);
        var embedding = GrpcTensors.Floats(response.RawOutputContents[0]);
        Assert.Equal(1.0, Math.Sqrt(embedding.Sum(v => (double)v * v)), 5);
        var direct = Service.InferDirect(new InferenceRequest { ModelName = "minilm", Inputs = [new NamedTensor("text", Tensor.FromStrings([Text]))] });
        var expected = direct.Outputs[0].Tensor.ToArray<float>();
        Assert.Equal(expected.Length, embedding.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], embedding[i], 6);
        }
    }

    [Fact]
    public async Task A_wrong_shape_is_invalid_argument_with_the_rest_message()
    {
        var request = new ModelInferRequest { ModelName = "fraud" };
        var input = GrpcTensors.Input("features", "FP32", 1, 5);
        input.Contents = new InferTensorContents { Fp32Contents = { 1, 2, 3, 4, 5 } };
        request.Inputs.Add(input);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await _grpc.Client.ModelInferAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("input 'features': expected shape FP32 [-1,6], got [1,5]", error.Status.Detail);
        using var rest = await fixture.Http.PostAsync("/v2/models/fraud/infer", new StringContent(
            """{"inputs":[{"name":"features","datatype":"FP32","shape":[1,5],"data":[1,2,3,4,5]}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, rest.StatusCode);
        using var body = JsonDocument.Parse(await rest.Content.ReadAsStringAsync());
        Assert.Equal(error.Status.Detail, body.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Errors_map_to_status_codes_and_the_server_keeps_serving()
    {
        var unknown = new ModelInferRequest { ModelName = "no-such-model" };
        unknown.Inputs.Add(GrpcTensors.Input("x", "FP32", 1));
        unknown.RawInputContents.Add(GrpcTensors.Raw(new float[] { 1 }));
        await AssertStatus(StatusCode.NotFound, "unknown model 'no-such-model'", unknown);

        var mixed = new ModelInferRequest { ModelName = "fraud" };
        var typedInput = GrpcTensors.Input("features", "FP32", 1, 6);
        typedInput.Contents = new InferTensorContents { Fp32Contents = { 1, 2, 3, 4, 5, 6 } };
        mixed.Inputs.Add(typedInput);
        mixed.RawInputContents.Add(GrpcTensors.Raw(new float[6]));
        await AssertStatus(StatusCode.InvalidArgument,
            "input 'features' has typed contents but the request also has raw_input_contents; send either typed contents for every input or one raw_input_contents per input", mixed);

        var short_ = new ModelInferRequest { ModelName = "fraud" };
        short_.Inputs.Add(GrpcTensors.Input("features", "FP32", 1, 6));
        short_.RawInputContents.Add(GrpcTensors.Raw(new float[5]));
        await AssertStatus(StatusCode.InvalidArgument, "input 'features': raw_input_contents[0] has 20 bytes; FP32 [1,6] needs 24 (6 elements of 4 bytes)", short_);

        var count = new ModelInferRequest { ModelName = "fraud" };
        var fewer = GrpcTensors.Input("features", "FP32", 1, 6);
        fewer.Contents = new InferTensorContents { Fp32Contents = { 1, 2, 3 } };
        count.Inputs.Add(fewer);
        await AssertStatus(StatusCode.InvalidArgument, "input 'features': shape [1,6] needs 6 elements, got 3 in fp32_contents", count);

        var wrongField = new ModelInferRequest { ModelName = "fraud" };
        var ints = GrpcTensors.Input("features", "FP32", 1, 6);
        ints.Contents = new InferTensorContents { IntContents = { 1, 2, 3, 4, 5, 6 } };
        wrongField.Inputs.Add(ints);
        await AssertStatus(StatusCode.InvalidArgument, "input 'features': a FP32 tensor takes its elements in fp32_contents, got int_contents", wrongField);

        var datatype = new ModelInferRequest { ModelName = "fraud" };
        datatype.Inputs.Add(GrpcTensors.Input("features", "FLOAT", 1, 6));
        datatype.RawInputContents.Add(GrpcTensors.Raw(new float[6]));
        var error = await Assert.ThrowsAsync<RpcException>(async () => await _grpc.Client.ModelInferAsync(datatype));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith("input 'features': unknown datatype 'FLOAT'; valid datatypes are BOOL, UINT8,", error.Status.Detail, StringComparison.Ordinal);

        var good = new ModelInferRequest { ModelName = "fraud" };
        good.Inputs.Add(GrpcTensors.Input("features", "FP32", 2, 6));
        good.RawInputContents.Add(GrpcTensors.Raw(Features));
        Assert.Equal([2L, 2L], Assert.Single((await _grpc.Client.ModelInferAsync(good)).Outputs).Shape);
    }

    [Fact]
    public async Task A_request_over_grpc_s_4_MiB_default_succeeds()
    {
        // 10 images as FP32 [10,3,224,224] = 6,021,120 bytes: past the 4 MiB gRPC default, under Pronto's 64 MiB limit.
        const int Batch = 10;
        var pixels = new float[Batch * 3 * 224 * 224];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (i % 255) / 255f;
        }

        var request = new ModelInferRequest { ModelName = "resnet18" };
        request.Inputs.Add(GrpcTensors.Input("Input247", "FP32", Batch, 3, 224, 224));
        request.RawInputContents.Add(GrpcTensors.Raw(pixels));
        Assert.True(request.CalculateSize() > 6_000_000);

        var response = await _grpc.Client.ModelInferAsync(request);

        var output = Assert.Single(response.Outputs);
        Assert.Equal(Batch, output.Shape[0]);
        Assert.Equal(Batch * 512 * 4, response.RawOutputContents[0].Length);
    }

    [Fact]
    public async Task A_request_over_the_configured_message_limit_is_resource_exhausted()
    {
        var server = await ServerFixture.StartAsync(options =>
        {
            options.ModelRepository = ZooPaths.DefaultRepository();
            options.LoadAllModels = false; // the limit applies before any model is involved
            options.MaxGrpcMessageBytes = 1024 * 1024;
        });
        try
        {
            using var grpc = new GrpcConnection(server);
            var request = new ModelInferRequest { ModelName = "resnet18" };
            request.Inputs.Add(GrpcTensors.Input("Input247", "FP32", 2, 3, 224, 224));
            request.RawInputContents.Add(GrpcTensors.Raw(new float[2 * 3 * 224 * 224]));

            var error = await Assert.ThrowsAsync<RpcException>(async () => await grpc.Client.ModelInferAsync(request));

            Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
            Assert.True((await grpc.Client.ServerLiveAsync(new ServerLiveRequest())).Live);
        }
        finally
        {
            await server.StopAsync();
            await server.DisposeAsync();
        }
    }

    private async Task AssertStatus(StatusCode code, string message, ModelInferRequest request)
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await _grpc.Client.ModelInferAsync(request));
        Assert.Equal(code, error.StatusCode);
        Assert.Equal(message, error.Status.Detail);
    }

    public void Dispose() => _grpc.Dispose();
}
