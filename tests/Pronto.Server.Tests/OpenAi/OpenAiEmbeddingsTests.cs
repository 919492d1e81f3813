using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Embeddings;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;
using Pronto.Testing;

namespace Pronto.Server.Tests.OpenAi;

/// <summary>The OpenAI .NET SDK, unchanged, against Pronto's /v1 routes.</summary>
[Collection(ServerCollection.Name)]
public sealed class OpenAiEmbeddingsTests(ServerFixture fixture)
{
    [Fact]
    public async Task The_OpenAI_SDK_gets_minilm_embeddings_equal_to_a_direct_inference()
    {
        var client = new EmbeddingClient("minilm", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(fixture.Server.HttpUri, "/v1") });
        var result = await client.GenerateEmbeddingsAsync(["the cat sits on the mat", "stock markets fell sharply today"]);
        Assert.Equal(2, result.Value.Count);
        var direct = Direct("the cat sits on the mat");
        Assert.Equal(direct, result.Value[0].ToFloats().ToArray());
        Assert.Equal(1.0, Vectors.Norm(result.Value[1].ToFloats().Span), 5);

        // [CLS] the cat sits on the mat [SEP] = 8 tokens; [CLS] stock markets fell sharply today [SEP] = 7.
        Assert.Equal(15, result.Value.Usage.InputTokenCount);
    }

    [Fact]
    public async Task Float_and_base64_encodings_carry_the_same_vector()
    {
        var asFloat = await PostAsync("""{"model":"minilm","input":"refund not received","encoding_format":"float"}""");
        var asBase64 = await PostAsync("""{"model":"minilm","input":"refund not received","encoding_format":"base64"}""");
        Assert.Equal(HttpStatusCode.OK, asFloat.Status);
        var floats = asFloat.Body.RootElement.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        var bytes = Convert.FromBase64String(asBase64.Body.RootElement.GetProperty("data")[0].GetProperty("embedding").GetString()!);
        var decoded = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, decoded, 0, bytes.Length);
        Assert.Equal(384, floats.Length);
        Assert.Equal(floats, decoded);
        Assert.Equal(Direct("refund not received"), floats);
        Assert.Equal("list", asFloat.Body.RootElement.GetProperty("object").GetString());
        Assert.Equal("minilm", asFloat.Body.RootElement.GetProperty("model").GetString());
    }

    [Fact]
    public async Task More_inputs_than_the_max_batch_size_are_answered_in_order()
    {
        var texts = Enumerable.Range(0, 70).Select(i => $"ticket number {i}").ToArray();
        var body = JsonSerializer.Serialize(new { model = "minilm", input = texts });
        var (status, doc) = await PostAsync(body);
        Assert.Equal(HttpStatusCode.OK, status);
        var data = doc.RootElement.GetProperty("data");
        Assert.Equal(70, data.GetArrayLength());
        Assert.Equal(69, data[69].GetProperty("index").GetInt32());
        var last = data[69].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        var direct = Direct("ticket number 69");
        for (var i = 0; i < direct.Length; i++)
        {
            Assert.Equal(direct[i], last[i], 4);
        }
    }

    [Fact]
    public async Task Models_lists_the_embedding_models()
    {
        using var doc = JsonDocument.Parse(await fixture.Http.GetStringAsync("/v1/models"));
        Assert.Equal(["minilm"], doc.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
    }

    [Theory]
    [InlineData("""{"model":"ghost","input":"x"}""", 404, "unknown model 'ghost'")]
    [InlineData("""{"model":"fraud","input":"x"}""", 400, "model 'fraud' is not a text embedding model")]
    [InlineData("""{"input":"x"}""", 400, "'model' is required")]
    [InlineData("""{"model":"minilm"}""", 400, "'input' is required")]
    [InlineData("""{"model":"minilm","input":[]}""", 400, "'input' must not be an empty array")]
    [InlineData("""{"model":"minilm","input":[[101,102]]}""", 501, "token ids is not supported")]
    [InlineData("""{"model":"minilm","input":"x","encoding_format":"int8"}""", 400, "'encoding_format' must be float or base64")]
    [InlineData("""{"model":"minilm","input":"x","dimensions":128}""", 400, "'dimensions' 128 is not supported")]
    [InlineData("""{"model":"minilm","input":""", 400, "malformed JSON")]
    public async Task Bad_requests_get_an_OpenAI_style_error(string body, int status, string message)
    {
        var (code, doc) = await PostAsync(body);
        Assert.Equal(status, (int)code);
        var error = doc.RootElement.GetProperty("error");
        Assert.Contains(message, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(status >= 500 ? "server_error" : "invalid_request_error", error.GetProperty("type").GetString());
    }

    private float[] Direct(string text)
    {
        var service = fixture.Server.Services.GetRequiredService<InferenceService>();
        return service.InferDirect(new InferenceRequest { ModelName = "minilm", Inputs = [new NamedTensor("text", Tensor.FromStrings([text]))] })
            .Outputs[0].Tensor.ToArray<float>();
    }

    private async Task<(HttpStatusCode Status, JsonDocument Body)> PostAsync(string json)
    {
        using var response = await fixture.Http.PostAsync("/v1/embeddings", new StringContent(json, Encoding.UTF8, "application/json"));
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()));
    }
}
