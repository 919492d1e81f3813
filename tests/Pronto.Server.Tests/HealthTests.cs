using System.Net;
using System.Text.Json;

namespace Pronto.Server.Tests;

[Collection(ServerCollection.Name)]
public sealed class HealthTests(ServerFixture fixture)
{
    [Fact]
    public async Task Live_and_ready_answer_200_once_the_bundled_models_are_loaded()
    {
        Assert.Equal(HttpStatusCode.OK, (await fixture.Http.GetAsync("/v2/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await fixture.Http.GetAsync("/v2/health/ready")).StatusCode);
    }

    [Fact]
    public async Task Server_metadata_names_pronto_and_its_extensions()
    {
        using var doc = JsonDocument.Parse(await fixture.Http.GetStringAsync("/v2"));
        Assert.Equal("pronto", doc.RootElement.GetProperty("name").GetString());
        Assert.Equal(
            ["classification", "binary_tensor_data", "model_repository", "model_configuration", "statistics"],
            doc.RootElement.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
    }
}
