using System.Net;
using System.Text;
using System.Text.Json;
using static Pronto.Server.Tests.Rest.Rest;

namespace Pronto.Server.Tests.Rest;

/// <summary>Bodies as the KServe / Triton docs write them, sent by a client Pronto did not write (HttpClient + StringContent).</summary>
[Collection(ServerCollection.Name)]
public sealed class PlainHttpTests(ServerFixture fixture)
{
    [Fact]
    public async Task A_docs_style_request_with_nested_data_gets_a_docs_style_response()
    {
        using var content = new StringContent(
            """
            {
              "id" : "42",
              "inputs" : [
                {
                  "name" : "features",
                  "shape" : [ 2, 6 ],
                  "datatype" : "FP32",
                  "data" : [ [ 912.5, 40, 7, 3, 850, 5 ], [ 25.0, 30.0, 2, 14, 3.5, 0 ] ]
                }
              ],
              "outputs" : [ { "name" : "probabilities" } ]
            }
            """, Encoding.UTF8, "application/json");
        using var response = await fixture.Http.PostAsync("/v2/models/fraud/infer", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await ReadJsonAsync(response);
        Assert.Equal(["model_name", "model_version", "id", "outputs"], body.EnumerateObject().Select(p => p.Name));
        var output = Assert.Single(body.GetProperty("outputs").EnumerateArray());
        Assert.Equal(["name", "datatype", "shape", "data"], output.EnumerateObject().Select(p => p.Name));
        Assert.Equal([2L, 2], Shape(output));
        var p = Floats(output.GetProperty("data"));
        Assert.Equal(4, p.Length);
        Assert.True(p[1] > 0.9f && p[3] < 0.1f, $"P(fraud) = {p[1]}, {p[3]}");
    }

    [Fact]
    public async Task A_request_without_id_or_outputs_and_with_fields_in_another_order_works()
    {
        var body = """{"inputs":[{"data":[1,2,3,4,5,6],"datatype":"FP32","shape":[1,6],"name":"features","parameters":{"content_type":"np"}}],"parameters":{"priority":0}}""";
        var (status, json) = await PostAsync(fixture.Http, "/v2/models/fraud/infer", body);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.False(json.TryGetProperty("id", out _));
        Assert.Equal([1L, 2], Shape(json.GetProperty("outputs")[0]));
    }

    [Fact]
    public async Task Text_as_a_BYTES_string_gets_a_384_wide_embedding()
    {
        using var content = new StringContent("""{"inputs":[{"name":"text","shape":[2],"datatype":"BYTES","data":["hello world","bonjour le monde"]}]}""", Encoding.UTF8, "application/json");
        using var response = await fixture.Http.PostAsync("/v2/models/minilm/infer", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var output = (await ReadJsonAsync(response)).GetProperty("outputs")[0];
        Assert.Equal("embedding", output.GetProperty("name").GetString());
        Assert.Equal("FP32", output.GetProperty("datatype").GetString());
        Assert.Equal([2L, 384], Shape(output));
        var first = Floats(output.GetProperty("data"))[..384];
        Assert.Equal(1.0, Math.Sqrt(first.Sum(v => (double)v * v)), 4);
    }

    [Fact]
    public async Task Metadata_reads_with_GetStringAsync_and_JsonDocument()
    {
        using var doc = JsonDocument.Parse(await fixture.Http.GetStringAsync("/v2/models/resnet18"));
        var input = doc.RootElement.GetProperty("inputs")[0];
        Assert.Equal("Input247", input.GetProperty("name").GetString());
        Assert.Equal([-1L, 3, 224, 224], Shape(input));
    }
}
