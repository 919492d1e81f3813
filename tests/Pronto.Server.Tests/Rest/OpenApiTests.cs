using System.Net;
using System.Text.Json;

namespace Pronto.Server.Tests.Rest;

/// <summary>The OpenAPI document and the Swagger UI that serves it.</summary>
[Collection(ServerCollection.Name)]
public sealed class OpenApiTests(ServerFixture fixture)
{
    [Fact]
    public async Task The_openapi_document_lists_the_protocol_routes()
    {
        using var response = await fixture.Http.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.StartsWith("3.", doc.RootElement.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var paths = doc.RootElement.GetProperty("paths");
        Assert.True(paths.GetProperty("/v2/models/{model}/infer").TryGetProperty("post", out _));
        Assert.True(paths.GetProperty("/v2/models/{model}/versions/{version}/infer").TryGetProperty("post", out _));
        foreach (var get in new[] { "/v2", "/v2/health/live", "/v2/health/ready", "/v2/models/{model}", "/v2/models/{model}/ready", "/v2/models/{model}/config", "/v2/models/stats", "/v2/models/{model}/stats" })
        {
            Assert.True(paths.TryGetProperty(get, out var path) && path.TryGetProperty("get", out _), $"GET {get} is not in the document");
        }

        foreach (var post in new[] { "/v2/repository/index", "/v2/repository/models/{model}/load", "/v2/repository/models/{model}/unload" })
        {
            Assert.True(paths.TryGetProperty(post, out var path) && path.TryGetProperty("post", out _), $"POST {post} is not in the document");
        }

        Assert.False(paths.TryGetProperty("/metrics", out _));
    }

    [Fact]
    public async Task The_ui_is_served_under_docs()
    {
        using var response = await fixture.Http.GetAsync("/docs/index.html");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("swagger", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }
}
