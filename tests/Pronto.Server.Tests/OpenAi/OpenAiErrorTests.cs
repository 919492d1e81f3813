using System.ClientModel;
using System.Net;
using System.Text;
using OpenAI;
using OpenAI.Embeddings;
using Pronto.Core.Errors;
using Pronto.Server.Http;
using Pronto.Server.Tests.Rest;

namespace Pronto.Server.Tests.OpenAi;

/// <summary>Every /v1 error, whichever layer answers it (auth, routing, the route, body limits), in OpenAI's error object.</summary>
[Collection(ServerCollection.Name)]
public sealed class OpenAiErrorTests(ServerFixture fixture)
{
    private const string ApiKeyMessage = "missing or invalid credentials: send 'Authorization: Bearer <key>' with an API key";

    [Fact]
    public async Task A_missing_or_wrong_api_key_is_401_invalid_api_key()
    {
        await using var own = await OwnServer.StartAsync(["minilm"], options => options.ApiKeys.Add("k1"));
        foreach (var (method, path) in new[] { ("POST", "/v1/embeddings"), ("GET", "/v1/models"), ("GET", "/v1/nothing") })
        {
            foreach (var key in new string?[] { null, "wrong" })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                if (method == "POST")
                {
                    request.Content = Json("""{"model":"minilm","input":"x"}""");
                }

                if (key is not null)
                {
                    request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + key);
                }

                using var response = await own.Http.SendAsync(request);
                Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
                Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
                Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
                Assert.Equal(Body(ApiKeyMessage, "invalid_request_error", "invalid_api_key"), await response.Content.ReadAsStringAsync());
            }
        }

        // The OpenAI SDK reads the status and the message.
        var client = new EmbeddingClient("minilm", new ApiKeyCredential("wrong"), new OpenAIClientOptions { Endpoint = new Uri(own.Server.HttpUri, "/v1") });
        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.GenerateEmbeddingAsync("x"));
        Assert.Equal(401, error.Status);
        Assert.Contains(ApiKeyMessage, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_model_is_404_model_not_found()
    {
        var (status, body) = await PostAsync(fixture.Http, """{"model":"ghost","input":"x"}""");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal(Body("unknown model 'ghost'", "invalid_request_error", "model_not_found"), body);
    }

    [Theory]
    [InlineData("GET", "/v1/nothing", 404, "no route GET /v1/nothing")]
    [InlineData("POST", "/v1/audio/speech", 404, "no route POST /v1/audio/speech")]
    // Not 405: on two-segment paths, gRPC's catch-all for unknown services ({service}/{method}, any HTTP method, only
    // for gRPC content) is a routing candidate too, so ASP.NET finds no endpoint rather than a wrong method.
    [InlineData("GET", "/v1/embeddings", 404, "no route GET /v1/embeddings")]
    [InlineData("POST", "/v1/models", 404, "no route POST /v1/models")]
    public async Task An_unknown_route_or_method_gets_the_error_object(string method, string path, int status, string message)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = Json("{}");
        }

        using var response = await fixture.Http.SendAsync(request);
        Assert.Equal((HttpStatusCode)status, response.StatusCode);
        Assert.Equal(Body(message, "invalid_request_error", null), await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("""{"input":"x"}""", "'model' is required: the name of an embedding model, e.g. minilm")]
    [InlineData("""{"model":"minilm","input":[]}""", "'input' must not be an empty array")]
    [InlineData("""{"model":"fraud","input":"x"}""", "model 'fraud' is not a text embedding model")]
    [InlineData("""[1]""", "the body must be a JSON object with 'model' and 'input'")]
    public async Task A_bad_body_is_400_invalid_request_error(string json, string message)
    {
        var (status, body) = await PostAsync(fixture.Http, json);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(Body(message, "invalid_request_error", null), body);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413_invalid_request_error()
    {
        await using var own = await OwnServer.StartAsync(["minilm"], options => options.MaxRequestBodyBytes = 1024);
        var json = """{"model":"minilm","input":"x"}""" + new string(' ', 2048);
        using var response = await own.Http.PostAsync("/v1/embeddings", Json(json));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(Body($"request body too large: the body is {json.Length} bytes; the limit is 1024", "invalid_request_error", null), await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_model_that_is_not_ready_is_503_server_error()
    {
        await using var own = await OwnServer.StartAsync(["minilm"]);
        own.Server.Repository.Unload("minilm");
        var (status, body) = await PostAsync(own.Http, """{"model":"minilm","input":"x"}""");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal(Body("model 'minilm' has no ready version: unloaded", "server_error", null), body);
    }

    [Fact]
    public async Task The_v2_routes_keep_the_protocol_error()
    {
        using var response = await fixture.Http.PostAsync("/v2/models/ghost/infer", Json(Rest.Rest.FeaturesBody));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("""{"error":"unknown model 'ghost'"}""", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(400, ErrorCode.InvalidArgument, "invalid_request_error", null)]
    [InlineData(401, null, "invalid_request_error", "invalid_api_key")]
    [InlineData(404, ErrorCode.NotFound, "invalid_request_error", "model_not_found")]
    [InlineData(404, null, "invalid_request_error", null)]
    [InlineData(405, null, "invalid_request_error", null)]
    [InlineData(413, null, "invalid_request_error", null)]
    [InlineData(500, ErrorCode.Internal, "server_error", null)]
    [InlineData(500, null, "server_error", null)]
    [InlineData(501, ErrorCode.Unsupported, "server_error", null)]
    [InlineData(503, ErrorCode.Unavailable, "server_error", null)]
    public void One_mapping_gives_openai_type_and_code(int status, ErrorCode? cause, string type, string? code) =>
        Assert.Equal((type, code), OpenAiErrors.Describe(status, cause));

    /// <summary>OpenAI's error object as Pronto writes it (the messages here hold no character JSON escapes).</summary>
    [Fact]
    public async Task More_embedding_inputs_than_the_bound_is_400_and_the_bound_itself_is_served()
    {
        await using var own = await OwnServer.StartAsync(["minilm"], options => options.MaxEmbeddingInputs = 3);
        var (status, body) = await PostAsync(own.Http, """{"model":"minilm","input":["a","b","c","d"]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(Body("'input' has 4 items; at most 3 per request (Pronto:MaxEmbeddingInputs): send several requests", "invalid_request_error", null), body);
        var (ok, _) = await PostAsync(own.Http, """{"model":"minilm","input":["a","b","c"]}""");
        Assert.Equal(HttpStatusCode.OK, ok);
    }

    private static string Body(string message, string type, string? code) =>
        "{\"error\":{\"message\":\"" + message + "\",\"type\":\"" + type + "\",\"param\":null,\"code\":" + (code is null ? "null" : "\"" + code + "\"") + "}}";

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<(HttpStatusCode Status, string Body)> PostAsync(HttpClient http, string json)
    {
        using var response = await http.PostAsync("/v1/embeddings", Json(json));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
