using System.Net;
using System.Text.Json;
using static Pronto.Server.Tests.Rest.Rest;

namespace Pronto.Server.Tests.Rest;

/// <summary>Every route of the Open Inference Protocol v2 REST API, on the shared server over the bundled models.</summary>
[Collection(ServerCollection.Name)]
public sealed class EndpointTests(ServerFixture fixture)
{
    private HttpClient Http => fixture.Http;

    [Theory]
    [InlineData("/v2/health/live")]
    [InlineData("/v2/health/ready")]
    [InlineData("/v2/models/fraud/ready")]
    [InlineData("/v2/models/fraud/versions/1/ready")]
    [InlineData("/v2/models/minilm/ready")]
    [InlineData("/v2/models/resnet18/versions/1/ready")]
    public async Task Health_and_readiness_answer_200(string path)
    {
        using var response = await Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Server_metadata_has_name_version_and_extensions()
    {
        var (status, body) = await GetAsync(Http, "/v2");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("pronto", body.GetProperty("name").GetString());
        Assert.Equal(ServerInfo.Version, body.GetProperty("version").GetString());
        Assert.Contains("binary_tensor_data", body.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
    }

    [Theory]
    [InlineData("/v2/models/fraud")]
    [InlineData("/v2/models/fraud/versions/1")]
    public async Task Model_metadata_describes_fraud(string path)
    {
        var (status, body) = await GetAsync(Http, path);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("fraud", body.GetProperty("name").GetString());
        Assert.Equal(["1"], body.GetProperty("versions").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("onnxruntime_onnx", body.GetProperty("platform").GetString());
        Assert.Equal(["features FP32 [-1,6]", "fields BYTES [-1,1]"], Tensors(body.GetProperty("inputs")));
        var output = Assert.Single(body.GetProperty("outputs").EnumerateArray());
        Assert.Equal("probabilities", output.GetProperty("name").GetString());
        Assert.Equal("FP32", output.GetProperty("datatype").GetString());
        Assert.Equal([-1L, 2], Shape(output));
    }

    [Fact]
    public async Task Model_metadata_of_minilm_lists_its_three_token_inputs_and_its_bytes_text_input()
    {
        var (status, body) = await GetAsync(Http, "/v2/models/minilm");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(
            ["input_ids INT64 [-1,-1]", "attention_mask INT64 [-1,-1]", "token_type_ids INT64 [-1,-1]", "text BYTES [-1,1]"],
            Tensors(body.GetProperty("inputs")));
        Assert.Equal(["last_hidden_state FP32 [-1,-1,384]", "embedding FP32 [-1,384]"], Tensors(body.GetProperty("outputs")));
    }

    [Fact]
    public async Task Model_metadata_of_resnet18_lists_its_bytes_image_input_and_its_embedding()
    {
        var (status, body) = await GetAsync(Http, "/v2/models/resnet18");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["Input247 FP32 [-1,3,224,224]", "image BYTES [-1,1]"], Tensors(body.GetProperty("inputs")));
        Assert.Equal(["Pooling395_Output_0 FP32 [-1,512,1,1]", "embedding FP32 [-1,512]"], Tensors(body.GetProperty("outputs")));
    }

    [Fact]
    public async Task The_inputs_metadata_lists_are_accepted_by_infer()
    {
        // The advertised BYTES input with its advertised [n, 1] shape, then the raw tensors: both forms infer.
        var (status, body) = await PostAsync(Http, "/v2/models/minilm/infer",
            """{"inputs":[{"name":"text","datatype":"BYTES","shape":[2,1],"data":["hello","world"]}]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("embedding FP32 [2,384]", Assert.Single(Tensors(body.GetProperty("outputs"))));

        (status, body) = await PostAsync(Http, "/v2/models/minilm/infer", """
            {"inputs":[
              {"name":"input_ids","datatype":"INT64","shape":[1,3],"data":[101,7592,102]},
              {"name":"attention_mask","datatype":"INT64","shape":[1,3],"data":[1,1,1]},
              {"name":"token_type_ids","datatype":"INT64","shape":[1,3],"data":[0,0,0]}]}
            """);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("embedding FP32 [1,384]", Assert.Single(Tensors(body.GetProperty("outputs"))));
    }

    private static List<string> Tensors(JsonElement tensors) =>
        [.. tensors.EnumerateArray().Select(t => $"{t.GetProperty("name").GetString()} {t.GetProperty("datatype").GetString()} [{string.Join(",", Shape(t))}]")];

    [Theory]
    [InlineData("/v2/models/fraud/infer")]
    [InlineData("/v2/models/fraud/versions/1/infer")]
    public async Task Infer_answers_both_route_forms(string path)
    {
        var (status, body) = await PostAsync(Http, path, FeaturesBody);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("fraud", body.GetProperty("model_name").GetString());
        Assert.Equal("1", body.GetProperty("model_version").GetString());
        Assert.Equal("42", body.GetProperty("id").GetString());
        var output = Assert.Single(body.GetProperty("outputs").EnumerateArray());
        Assert.Equal("probabilities", output.GetProperty("name").GetString());
        Assert.Equal("FP32", output.GetProperty("datatype").GetString());
        Assert.Equal([1L, 2], Shape(output));
        var p = Floats(output.GetProperty("data"));
        Assert.Equal(1f, p[0] + p[1], 5);
        Assert.True(p[1] > 0.9f, $"P(fraud) = {p[1]}");
    }

    [Fact]
    public async Task Config_of_fraud_is_tritons_json_form()
    {
        var (status, body) = await GetAsync(Http, "/v2/models/fraud/config");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("fraud", body.GetProperty("name").GetString());
        Assert.Equal("onnxruntime_onnx", body.GetProperty("platform").GetString());
        Assert.Equal(4096, body.GetProperty("max_batch_size").GetInt32());
        var input = Assert.Single(body.GetProperty("input").EnumerateArray());
        Assert.Equal("features", input.GetProperty("name").GetString());
        Assert.Equal("TYPE_FP32", input.GetProperty("data_type").GetString());
        Assert.Equal([6L], input.GetProperty("dims").EnumerateArray().Select(d => d.GetInt64()));
        var output = Assert.Single(body.GetProperty("output").EnumerateArray());
        Assert.Equal("probabilities", output.GetProperty("name").GetString());
        Assert.Equal("TYPE_FP32", output.GetProperty("data_type").GetString());
        Assert.Equal([2L], output.GetProperty("dims").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Equal("labels.txt", output.GetProperty("label_filename").GetString());
        Assert.Equal("fields", body.GetProperty("parameters").GetProperty("pronto.prepare").GetProperty("string_value").GetString());
    }

    [Fact]
    public async Task Statistics_list_every_ready_model()
    {
        var (status, body) = await GetAsync(Http, "/v2/models/stats");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["fraud", "minilm", "resnet18"], body.GetProperty("model_stats").EnumerateArray().Select(s => s.GetProperty("name").GetString()).Order());
    }

    [Fact]
    public async Task Statistics_count_exactly_the_requests_sent_on_a_server_of_its_own()
    {
        await using var own = await OwnServer.StartAsync(["fraud"]);
        var before = await Stats(own.Http, "/v2/models/fraud/stats");
        Assert.Equal(0, before.GetProperty("inference_count").GetInt64());
        Assert.Equal(0, before.GetProperty("execution_count").GetInt64());

        // 3 requests of batch 1 and 1 of batch 2: 4 executions, 5 inferences.
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await PostAsync(own.Http, "/v2/models/fraud/infer", FeaturesBody)).Status);
        }

        var batch = """{"inputs":[{"name":"features","shape":[2,6],"datatype":"FP32","data":[1,2,3,4,5,6,7,8,9,10,11,12]}]}""";
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(own.Http, "/v2/models/fraud/versions/1/infer", batch)).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await PostAsync(own.Http, "/v2/models/fraud/infer", """{"inputs":[{"name":"features","shape":[1,5],"datatype":"FP32","data":[1,2,3,4,5]}]}""")).Status);

        foreach (var path in new[] { "/v2/models/fraud/stats", "/v2/models/fraud/versions/1/stats", "/v2/models/stats" })
        {
            var s = await Stats(own.Http, path);
            Assert.Equal("fraud", s.GetProperty("name").GetString());
            Assert.Equal("1", s.GetProperty("version").GetString());
            Assert.Equal(5, s.GetProperty("inference_count").GetInt64());
            Assert.Equal(4, s.GetProperty("execution_count").GetInt64());
            var inference = s.GetProperty("inference_stats");
            Assert.Equal(4, inference.GetProperty("success").GetProperty("count").GetInt64());
            Assert.Equal(1, inference.GetProperty("fail").GetProperty("count").GetInt64());
            Assert.Equal(4, inference.GetProperty("compute_infer").GetProperty("count").GetInt64());
            Assert.True(s.GetProperty("last_inference").GetInt64() > 0);
        }
    }

    [Theory]
    [InlineData("GET", "/v2/models/nope", "nope")]
    [InlineData("GET", "/v2/models/nope/ready", "nope")]
    [InlineData("GET", "/v2/models/nope/config", "nope")]
    [InlineData("GET", "/v2/models/nope/stats", "nope")]
    [InlineData("POST", "/v2/models/nope/infer", "nope")]
    [InlineData("GET", "/v2/models/fraud/versions/7", "'7'")]
    [InlineData("GET", "/v2/models/fraud/versions/7/ready", "'7'")]
    [InlineData("GET", "/v2/models/fraud/versions/7/stats", "'7'")]
    [InlineData("POST", "/v2/models/fraud/versions/7/infer", "'7'")]
    public async Task Unknown_model_or_version_is_404_with_an_error(string method, string path, string named)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = Json(FeaturesBody);
        }

        using var response = await Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains(named, Error(await ReadJsonAsync(response)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET", "/v2/nothing", 404, "no route GET /v2/nothing")]
    [InlineData("GET", "/v2/models/fraud/versions/1/extra", 404, "no route GET /v2/models/fraud/versions/1/extra")]
    [InlineData("GET", "/v2/models/fraud/infer", 405, "GET is not allowed on /v2/models/fraud/infer")]
    [InlineData("DELETE", "/v2/models/fraud", 405, "DELETE is not allowed on /v2/models/fraud")]
    public async Task Unknown_routes_and_methods_get_an_error_body(string method, string path, int status, string message)
    {
        using var response = await Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal((HttpStatusCode)status, response.StatusCode);
        Assert.Equal(message, Error(await ReadJsonAsync(response)));
    }

    private static async Task<JsonElement> Stats(HttpClient http, string path)
    {
        var (status, body) = await GetAsync(http, path);
        Assert.Equal(HttpStatusCode.OK, status);
        return Assert.Single(body.GetProperty("model_stats").EnumerateArray());
    }
}
