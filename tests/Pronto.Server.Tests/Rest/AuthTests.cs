using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using static Pronto.Server.Tests.Rest.Rest;

namespace Pronto.Server.Tests.Rest;

/// <summary>API keys on inference and metadata; the repository API off by default, and behind admin keys when on.</summary>
public sealed class AuthTests
{
    [Fact]
    public async Task Api_keys_guard_inference_and_metadata_but_not_health_or_metrics()
    {
        await using var own = await OwnServer.StartAsync(["fraud"], options => options.ApiKeys.Add("k1"));
        var http = own.Http;

        foreach (var (method, path) in new[] { ("POST", "/v2/models/fraud/infer"), ("GET", "/v2/models/fraud"), ("GET", "/v2"), ("GET", "/v2/models/fraud/ready"), ("GET", "/v2/models/stats") })
        {
            foreach (var key in new string?[] { null, "wrong", "k1x", "" })
            {
                using var denied = await SendAsync(http, method, path, key);
                Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
                Assert.Equal("Bearer", Assert.Single(denied.Headers.WwwAuthenticate).Scheme);
                Assert.Equal("missing or invalid credentials: send 'Authorization: Bearer <key>' with an API key", Error(await ReadJsonAsync(denied)));
            }

            using var allowed = await SendAsync(http, method, path, "k1");
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        }

        // vLLM's tokenizer routes (at the root) take the key too; with it, fraud is no generative model: a 400.
        foreach (var path in new[] { "/tokenize", "/detokenize" })
        {
            using var denied = await SendAsync(http, "POST", path, null);
            Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent("""{"model":"fraud","prompt":"x","tokens":[1]}""", System.Text.Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "k1");
            using var allowed = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.BadRequest, allowed.StatusCode);
        }

        // A basic-auth header with the key is not a bearer token.
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/v2/models/fraud"))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", "k1");
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        foreach (var open in new[] { "/v2/health/live", "/v2/health/ready", "/metrics" })
        {
            using var response = await http.GetAsync(open);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Fact]
    public async Task Repository_api_is_off_by_default()
    {
        await using var own = await OwnServer.StartAsync(["fraud"], options => options.AdminKeys.Add("admin"));
        foreach (var path in new[] { "/v2/repository/index", "/v2/repository/models/fraud/unload", "/v2/repository/models/fraud/load" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Json("{}") };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "admin");
            using var response = await own.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.StartsWith("the repository API is disabled", Error(await ReadJsonAsync(response)), StringComparison.Ordinal);
        }

        // Still loaded: the unload above did nothing.
        Assert.Equal(HttpStatusCode.OK, (await own.Http.GetAsync("/v2/models/fraud/ready")).StatusCode);
    }

    [Fact]
    public async Task Repository_api_with_an_admin_key_indexes_unloads_and_loads()
    {
        await using var own = await OwnServer.StartOverZooAsync(options =>
        {
            options.EnableRepositoryApi = true;
            options.AdminKeys.Add("admin");
            options.ApiKeys.Add("k1");
        });
        var http = own.Http;

        using (var anonymous = await SendAsync(http, "POST", "/v2/repository/index", null, "{}"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Equal("Bearer", Assert.Single(anonymous.Headers.WwwAuthenticate).Scheme);
            Assert.Equal("missing or invalid credentials: send 'Authorization: Bearer <key>' with an admin key", Error(await ReadJsonAsync(anonymous)));
        }

        // An inference key is not an admin key.
        using (var user = await SendAsync(http, "POST", "/v2/repository/index", "k1", "{}"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, user.StatusCode);
        }

        foreach (var body in new[] { "{}", """{"ready":true}""", "" })
        {
            var index = await Index(http, body);
            Assert.Equal(["fraud", "minilm", "resnet18"], index.Select(r => r.GetProperty("name").GetString()));
            Assert.All(index, r =>
            {
                Assert.Equal("1", r.GetProperty("version").GetString());
                Assert.Equal("READY", r.GetProperty("state").GetString());
                Assert.True(r.GetProperty("resident_bytes").GetInt64() > 0);
                Assert.True(DateTimeOffset.TryParse(r.GetProperty("last_used").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _));
            });
        }

        using (var unload = await SendAsync(http, "POST", "/v2/repository/models/fraud/unload", "admin", "{}"))
        {
            Assert.Equal(HttpStatusCode.OK, unload.StatusCode);
        }

        using (var infer = await SendAsync(http, "POST", "/v2/models/fraud/infer", "k1", FeaturesBody))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, infer.StatusCode);
            Assert.Contains("fraud", Error(await ReadJsonAsync(infer)), StringComparison.Ordinal);
        }

        using (var ready = await SendAsync(http, "GET", "/v2/models/fraud/ready", "k1"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        }

        // As in Triton, a model unloaded on purpose does not make the server unready: only failed or loading ones do.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v2/health/ready")).StatusCode);
        var all = await Index(http, "{}");
        var fraud = all.Single(r => r.GetProperty("name").GetString() == "fraud");
        Assert.Equal("UNAVAILABLE", fraud.GetProperty("state").GetString());
        Assert.False(fraud.TryGetProperty("resident_bytes", out _));
        Assert.Equal(["minilm", "resnet18"], (await Index(http, """{"ready":true}""")).Select(r => r.GetProperty("name").GetString()));

        using (var load = await SendAsync(http, "POST", "/v2/repository/models/fraud/load", "admin", "{}"))
        {
            Assert.Equal(HttpStatusCode.OK, load.StatusCode);
        }

        using (var ready = await SendAsync(http, "GET", "/v2/models/fraud/ready", "k1"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v2/health/ready")).StatusCode);
        using (var infer = await SendAsync(http, "POST", "/v2/models/fraud/infer", "k1", FeaturesBody))
        {
            Assert.Equal(HttpStatusCode.OK, infer.StatusCode);
        }

        // Names that are not models of the repository, including path-like ones, never reach the disk.
        foreach (var name in new[] { "nope", "..%2F..%2Fetc", "..", "fraud%2F..%2Fminilm" })
        {
            using var load = await SendAsync(http, "POST", $"/v2/repository/models/{name}/load", "admin", "{}");
            Assert.Contains(load.StatusCode, new[] { HttpStatusCode.BadRequest, HttpStatusCode.NotFound });
            Error(await ReadJsonAsync(load));
        }

        using (var malformed = await SendAsync(http, "POST", "/v2/repository/index", "admin", "{not json"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
            Assert.StartsWith("malformed JSON", Error(await ReadJsonAsync(malformed)), StringComparison.Ordinal);
        }
    }

    private static async Task<JsonElement[]> Index(HttpClient http, string body)
    {
        using var response = await SendAsync(http, "POST", "/v2/repository/index", "admin", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. (await ReadJsonAsync(response)).EnumerateArray().OrderBy(r => r.GetProperty("name").GetString(), StringComparer.Ordinal)];
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient http, string method, string path, string? key, string? body = null)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST")
        {
            request.Content = Json(body ?? FeaturesBody);
        }

        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + key);
        }

        return http.SendAsync(request);
    }
}
