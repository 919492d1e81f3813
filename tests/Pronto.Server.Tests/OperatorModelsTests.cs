using System.Buffers.Binary;
using System.Net;
using System.Text.Json;
using Pronto.Core.Repository;
using Pronto.Server.Tests.Grpc;
using Pronto.Server.Tests.GrpcClient;
using Pronto.Testing;
using static Pronto.Server.Tests.Rest.Rest;

namespace Pronto.Server.Tests;

/// <summary>
/// A config-less repository of operator models like ONNX's node tests (Resize with a scales input, Reshape with a
/// shape input, integer Mod, IsNaN), whose zero-filled implicit warm-up fails for three of them, plus a Resize
/// whose config.pbtxt gives a model_warmup sample that passes.
/// </summary>
public sealed class OperatorModelsFixture : IAsyncLifetime
{
    public static readonly string[] Models = ["isnan", "mod", "reshape", "resize", "resize_warm"];

    private readonly string _root = Directory.CreateTempSubdirectory("pronto-operators-").FullName;

    public ProntoServer Server { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        TinyModels.WriteIsNaN(_root, "isnan");
        TinyModels.WriteMod(_root, "mod");
        TinyModels.WriteReshape(_root, "reshape");
        TinyModels.WriteResize(_root, "resize");
        TinyModels.WriteResize(_root, "resize_warm");
        var warmup = Directory.CreateDirectory(Path.Combine(_root, "resize_warm", "warmup")).FullName;
        var scales = new byte[16];
        for (var i = 0; i < 4; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(scales.AsSpan(i * 4), i < 2 ? 1f : 2f);
        }

        File.WriteAllBytes(Path.Combine(warmup, "scales.bin"), scales);
        File.WriteAllText(Path.Combine(_root, "resize_warm", "config.pbtxt"), """
            model_warmup [
              {
                name: "double"
                batch_size: 1
                inputs { key: "x" value { data_type: TYPE_FP32 dims: [ 1, 1, 2, 2 ] random_data: true } }
                inputs { key: "scales" value { data_type: TYPE_FP32 dims: [ 4 ] input_data_file: "scales.bin" } }
              }
            ]
            """);
        Server = await ServerFixture.StartAsync(options => options.ModelRepository = _root);
        Http = new HttpClient { BaseAddress = Server.HttpUri };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.StopAsync();
        await Server.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}

public sealed class OperatorModelsTests(OperatorModelsFixture fixture) : IClassFixture<OperatorModelsFixture>, IDisposable
{
    private readonly GrpcConnection _grpc = new(fixture.Server);

    [Fact]
    public async Task Every_model_onnx_runtime_loads_is_ready()
    {
        Assert.Equal(
            OperatorModelsFixture.Models.Select(m => new ModelVersionStatus(m, 1, ModelState.Ready, "")),
            fixture.Server.Repository.Index().Select(static r => r with { ResidentBytes = null, LastUsed = null }));
        using var ready = await fixture.Http.GetAsync("/v2/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        foreach (var model in OperatorModelsFixture.Models)
        {
            using var response = await fixture.Http.GetAsync($"/v2/models/{model}/ready");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True((await _grpc.Client.ModelReadyAsync(new ModelReadyRequest { Name = model })).Ready);
        }
    }

    [Fact]
    public async Task IsNaN_over_rest_json_takes_the_nan_and_infinity_strings()
    {
        var (status, body) = await PostAsync(fixture.Http, "/v2/models/isnan/infer", """
            {"inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[1,"NaN","Infinity"]}]}
            """);

        Assert.True(status == HttpStatusCode.OK, body.ToString());
        var y = Assert.Single(body.GetProperty("outputs").EnumerateArray());
        Assert.Equal(("y", "BOOL"), (y.GetProperty("name").GetString(), y.GetProperty("datatype").GetString()));
        Assert.Equal([3L], Shape(y));
        Assert.Equal([false, true, false], y.GetProperty("data").EnumerateArray().Select(e => e.GetBoolean()));
    }

    [Fact]
    public async Task IsNaN_over_rest_binary_takes_nan_and_infinities_as_they_are()
    {
        var x = new byte[16];
        float[] values = [1f, float.NaN, float.PositiveInfinity, float.NegativeInfinity];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(x.AsSpan(i * 4), values[i]);
        }

        using var request = Binary("/v2/models/isnan/infer",
            """{"inputs":[{"name":"x","shape":[4],"datatype":"FP32","parameters":{"binary_data_size":16}}],"outputs":[{"name":"y","parameters":{"binary_data":true}}]}""", x);
        using var response = await fixture.Http.SendAsync(request);

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var (header, outputs) = await ReadBinaryResponseAsync(response);
        Assert.Equal([4L], Shape(Assert.Single(header.GetProperty("outputs").EnumerateArray())));
        Assert.Equal([0, 1, 0, 0], outputs["y"]);
    }

    [Fact]
    public async Task IsNaN_over_grpc_takes_nan_and_infinity_in_fp32_contents()
    {
        var request = new ModelInferRequest { ModelName = "isnan" };
        var x = GrpcTensors.Input("x", "FP32", 3);
        x.Contents = new InferTensorContents { Fp32Contents = { 1f, float.NaN, float.PositiveInfinity } };
        request.Inputs.Add(x);

        var response = await _grpc.Client.ModelInferAsync(request);

        var y = Assert.Single(response.Outputs);
        Assert.Equal(("y", "BOOL"), (y.Name, y.Datatype));
        Assert.Equal([3L], y.Shape);
        Assert.Equal([0, 1, 0], Assert.Single(response.RawOutputContents).ToByteArray());
    }

    [Theory]
    [InlineData("resize")]
    [InlineData("resize_warm")]
    public async Task Resize_doubles_over_rest_and_grpc(string model)
    {
        var (status, body) = await PostAsync(fixture.Http, $"/v2/models/{model}/infer", """
            {"inputs":[{"name":"x","shape":[1,1,2,2],"datatype":"FP32","data":[1,2,3,4]},{"name":"scales","shape":[4],"datatype":"FP32","data":[1,1,2,2]}]}
            """);
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        var y = Assert.Single(body.GetProperty("outputs").EnumerateArray());
        float[] doubled = [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4];
        Assert.Equal([1L, 1, 4, 4], Shape(y));
        Assert.Equal(doubled, Floats(y.GetProperty("data")));

        var request = new ModelInferRequest { ModelName = model };
        request.Inputs.Add(GrpcTensors.Input("x", "FP32", 1, 1, 2, 2));
        request.Inputs.Add(GrpcTensors.Input("scales", "FP32", 4));
        request.RawInputContents.Add(GrpcTensors.Raw(new[] { 1f, 2f, 3f, 4f }));
        request.RawInputContents.Add(GrpcTensors.Raw(new[] { 1f, 1f, 2f, 2f }));
        var response = await _grpc.Client.ModelInferAsync(request);
        Assert.Equal([1L, 1, 4, 4], Assert.Single(response.Outputs).Shape);
        Assert.Equal(doubled, GrpcTensors.Floats(Assert.Single(response.RawOutputContents)));
    }

    [Fact]
    public async Task Reshape_takes_its_shape_input_over_rest_and_grpc()
    {
        var (status, body) = await PostAsync(fixture.Http, "/v2/models/reshape/infer", """
            {"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[[1,2,3],[4,5,6]]},{"name":"shape","shape":[2],"datatype":"INT64","data":[3,2]}]}
            """);
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        var y = Assert.Single(body.GetProperty("outputs").EnumerateArray());
        Assert.Equal([3L, 2], Shape(y));
        Assert.Equal([1f, 2, 3, 4, 5, 6], Floats(y.GetProperty("data")));

        var request = new ModelInferRequest { ModelName = "reshape" };
        var x = GrpcTensors.Input("x", "FP32", 2, 3);
        x.Contents = new InferTensorContents { Fp32Contents = { 1, 2, 3, 4, 5, 6 } };
        var shape = GrpcTensors.Input("shape", "INT64", 3);
        shape.Contents = new InferTensorContents { Int64Contents = { 1, 6, 1 } };
        request.Inputs.Add(x);
        request.Inputs.Add(shape);
        var response = await _grpc.Client.ModelInferAsync(request);
        Assert.Equal([1L, 6, 1], Assert.Single(response.Outputs).Shape);
        Assert.Equal([1f, 2, 3, 4, 5, 6], GrpcTensors.Floats(Assert.Single(response.RawOutputContents)));
    }

    [Fact]
    public async Task Mod_is_integer_mod_over_rest_and_grpc()
    {
        // Integer Mod: the remainder takes the divisor's sign (Python's %), unlike C's fmod.
        var (status, body) = await PostAsync(fixture.Http, "/v2/models/mod/infer", """
            {"inputs":[{"name":"a","shape":[3],"datatype":"INT32","data":[5,-7,9]},{"name":"b","shape":[3],"datatype":"INT32","data":[3,2,-4]}]}
            """);
        Assert.True(status == HttpStatusCode.OK, body.ToString());
        var c = Assert.Single(body.GetProperty("outputs").EnumerateArray());
        Assert.Equal([2, 1, -3], c.GetProperty("data").EnumerateArray().Select(e => e.GetInt32()));

        var request = new ModelInferRequest { ModelName = "mod" };
        var a = GrpcTensors.Input("a", "INT32", 3);
        a.Contents = new InferTensorContents { IntContents = { 5, -7, 9 } };
        var b = GrpcTensors.Input("b", "INT32", 3);
        b.Contents = new InferTensorContents { IntContents = { 3, 2, -4 } };
        request.Inputs.Add(a);
        request.Inputs.Add(b);
        var response = await _grpc.Client.ModelInferAsync(request);
        var raw = Assert.Single(response.RawOutputContents).ToByteArray();
        Assert.Equal([2, 1, -3], Enumerable.Range(0, 3).Select(i => BinaryPrimitives.ReadInt32LittleEndian(raw.AsSpan(i * 4))));
    }

    [Fact]
    public async Task Config_shows_model_warmup_over_rest_and_grpc()
    {
        var (status, body) = await GetAsync(fixture.Http, "/v2/models/resize_warm/config");
        Assert.Equal(HttpStatusCode.OK, status);
        var sample = Assert.Single(body.GetProperty("model_warmup").EnumerateArray());
        Assert.Equal(("double", 1, 0), (sample.GetProperty("name").GetString(), sample.GetProperty("batch_size").GetInt32(), sample.GetProperty("count").GetInt32()));
        var inputs = sample.GetProperty("inputs");
        Assert.Equal(["x", "scales"], inputs.EnumerateObject().Select(p => p.Name));
        Assert.True(inputs.GetProperty("x").GetProperty("random_data").GetBoolean());
        Assert.Equal([1L, 1, 2, 2], inputs.GetProperty("x").GetProperty("dims").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Equal("TYPE_FP32", inputs.GetProperty("scales").GetProperty("data_type").GetString());
        Assert.Equal("scales.bin", inputs.GetProperty("scales").GetProperty("input_data_file").GetString());
        var (_, plain) = await GetAsync(fixture.Http, "/v2/models/resize/config");
        Assert.Equal(JsonValueKind.Array, plain.GetProperty("model_warmup").ValueKind);
        Assert.Equal(0, plain.GetProperty("model_warmup").GetArrayLength());

        var config = (await _grpc.Client.ModelConfigAsync(new ModelConfigRequest { Name = "resize_warm" })).Config;
        var warmup = Assert.Single(config.ModelWarmup);
        Assert.Equal(("double", 1u, 0u), (warmup.Name, warmup.BatchSize, warmup.Count));
        Assert.True(warmup.Inputs["x"].RandomData);
        Assert.Equal([1L, 1, 2, 2], warmup.Inputs["x"].Dims);
        Assert.Equal((DataType.TypeFp32, "scales.bin"), (warmup.Inputs["scales"].DataType, warmup.Inputs["scales"].InputDataFile));
    }

    public void Dispose() => _grpc.Dispose();
}
