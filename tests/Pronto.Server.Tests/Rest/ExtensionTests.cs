using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Pronto.Cli;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;
using Pronto.Testing;
using static Pronto.Server.Tests.Rest.Rest;

namespace Pronto.Server.Tests.Rest;

/// <summary>The classification extension and the bundled models' raw-item inputs (fields, text, image) over REST.</summary>
[Collection(ServerCollection.Name)]
public sealed class ExtensionTests(ServerFixture fixture)
{
    private static readonly string FieldsInput = JsonSerializer.Serialize(FraudFields);

    [Fact]
    public async Task Classification_returns_score_index_label_strings_for_fields()
    {
        var body = $$$"""{"inputs":[{"name":"fields","shape":[1],"datatype":"BYTES","data":[{{{FieldsInput}}}]}],"outputs":[{"name":"probabilities","parameters":{"classification":2}}]}""";
        var (status, json) = await PostAsync(fixture.Http, "/v2/models/fraud/infer", body);
        Assert.True(status == HttpStatusCode.OK, json.ToString());
        var output = Assert.Single(json.GetProperty("outputs").EnumerateArray());
        Assert.Equal("probabilities", output.GetProperty("name").GetString());
        Assert.Equal("BYTES", output.GetProperty("datatype").GetString());
        Assert.Equal([1L, 2], Shape(output));
        var top = Flatten(output.GetProperty("data")).Select(e => e.GetString()!.Split(':')).ToArray();
        Assert.Equal(["1", "fraud"], top[0][1..]);
        Assert.Equal(["0", "legit"], top[1][1..]);
        var fraud = float.Parse(top[0][0], CultureInfo.InvariantCulture);
        var legit = float.Parse(top[1][0], CultureInfo.InvariantCulture);
        Assert.True(fraud > 0.9f, $"P(fraud) = {fraud}");
        Assert.Equal(1f, fraud + legit, 4);

        // The same scores as the plain probabilities of the same fields.
        var plain = $$$"""{"inputs":[{"name":"fields","shape":[1],"datatype":"BYTES","data":[{{{FieldsInput}}}]}]}""";
        var (_, probabilities) = await PostAsync(fixture.Http, "/v2/models/fraud/infer", plain);
        var p = Floats(probabilities.GetProperty("outputs")[0].GetProperty("data"));
        Assert.Equal(p[1], fraud, 5);
        Assert.Equal(p[0], legit, 5);
    }

    [Fact]
    public async Task Classification_with_k_1_on_raw_features()
    {
        var body = """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[912.5,40,7,3,850,5]}],"outputs":[{"name":"probabilities","parameters":{"classification":1}}]}""";
        var (status, json) = await PostAsync(fixture.Http, "/v2/models/fraud/infer", body);
        Assert.Equal(HttpStatusCode.OK, status);
        var output = json.GetProperty("outputs")[0];
        Assert.Equal([1L, 1], Shape(output));
        Assert.EndsWith(":1:fraud", Flatten(output.GetProperty("data")).Single().GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Minilm_text_embedding_equals_the_direct_service_and_the_cli()
    {
        const string text = "my card was charged twice";
        var body = $$"""{"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":["{{text}}"]}]}""";
        var (status, json) = await PostAsync(fixture.Http, "/v2/models/minilm/infer", body);
        Assert.Equal(HttpStatusCode.OK, status);
        var output = json.GetProperty("outputs")[0];
        Assert.Equal("embedding", output.GetProperty("name").GetString());
        Assert.Equal([1L, 384], Shape(output));
        var rest = Floats(output.GetProperty("data"));

        var service = fixture.Server.Services.GetRequiredService<InferenceService>();
        var direct = service.InferDirect(new InferenceRequest
        {
            ModelName = "minilm",
            Inputs = [new NamedTensor("text", Tensor.FromStrings([text]))],
        }).Outputs[0].Tensor.ToArray<float>();
        Assert.Equal(direct, rest);

        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await ProntoCli.RunAsync(["predict", "minilm", "--text", text, "-o", "json", "-r", fixture.Server.Repository.Root], stdout, stderr);
        Assert.True(code == 0, stderr.ToString());
        using var cli = JsonDocument.Parse(stdout.ToString());
        Assert.Equal(rest, Floats(cli.RootElement.GetProperty("outputs")[0].GetProperty("data")));
    }

    [Fact]
    public async Task Resnet18_takes_png_bytes_as_a_binary_BYTES_input()
    {
        var png = TestImages.Landscape(300, 200);
        var element = BytesTensor(png);
        var json = $$$"""{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":{{{element.Length}}}}}]}""";
        using var request = Binary("/v2/models/resnet18/infer", json, element);
        using var response = await fixture.Http.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var output = (await ReadJsonAsync(response)).GetProperty("outputs")[0];
        Assert.Equal("embedding", output.GetProperty("name").GetString());
        Assert.Equal("FP32", output.GetProperty("datatype").GetString());
        Assert.Equal([1L, 512], Shape(output));

        var service = fixture.Server.Services.GetRequiredService<InferenceService>();
        var direct = service.InferDirect(new InferenceRequest
        {
            ModelName = "resnet18",
            Inputs = [new NamedTensor("image", Tensor.FromStrings([(ReadOnlyMemory<byte>)png], 1))],
        }).Outputs[0].Tensor.ToArray<float>();
        Assert.Equal(direct, Floats(output.GetProperty("data")));
    }

    [Fact]
    public async Task Resnet18_image_that_is_not_an_image_is_400()
    {
        var element = BytesTensor(Encoding.UTF8.GetBytes("not a picture"));
        var json = $$$"""{"inputs":[{"name":"image","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":{{{element.Length}}}}}]}""";
        using var request = Binary("/v2/models/resnet18/infer", json, element);
        using var response = await fixture.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("image", Error(await ReadJsonAsync(response)), StringComparison.Ordinal);
    }
}
