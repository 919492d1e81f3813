using System.Text;
using Pronto.Core.Inference;
using Pronto.Core.Processing;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Testing;
using SkiaSharp;

namespace Pronto.Models.Tests;

/// <summary>The bundled models, end to end through the inference service and real ONNX Runtime.</summary>
[Collection(BundledCollection.Name)]
public sealed class BundledModelsTests(BundledRepositoryFixture fixture)
{
    [Fact]
    public void All_bundled_models_are_ready()
    {
        var index = fixture.Repository.Index().Where(s => BundledRepository.ModelNames.Contains(s.Name)).ToList();
        Assert.Equal(["fraud", "minilm", "resnet18"], index.Select(s => s.Name).Order());
        Assert.All(index, s => Assert.Equal(ModelState.Ready, s.State));
        Assert.All(index, s => Assert.Equal(1L, s.Version));
    }

    [Fact]
    public void Minilm_ranks_a_paraphrase_above_an_unrelated_sentence()
    {
        var vectors = Embed("minilm", "text", "the cat sits on the mat", "a kitten is sitting on a rug", "stock markets fell sharply today");
        var paraphrase = Vectors.Cosine(vectors[0], vectors[1]);
        var unrelated = Vectors.Cosine(vectors[0], vectors[2]);
        Assert.True(paraphrase > unrelated + 0.3, $"paraphrase {paraphrase:F3} vs unrelated {unrelated:F3}");
        Assert.All(vectors, v => Assert.Equal(384, v.Length));
        Assert.All(vectors, v => Assert.Equal(1.0, Vectors.Norm(v), 5));
    }

    [Fact]
    public void Minilm_batched_texts_of_different_lengths_equal_single_runs()
    {
        string[] texts = ["short", "a considerably longer sentence that pads the first one in the batch"];
        var batched = Embed("minilm", "text", texts);
        for (var i = 0; i < texts.Length; i++)
        {
            var single = Embed("minilm", "text", texts[i])[0];
            for (var d = 0; d < single.Length; d++)
            {
                Assert.Equal(single[d], batched[i][d], 4);
            }
        }
    }

    [Fact]
    public void Resnet18_resized_copies_of_an_image_are_closer_than_different_images()
    {
        var original = TestImages.Landscape(640, 480);
        var resized = TestImages.Landscape(320, 240, SKEncodedImageFormat.Jpeg);
        var other = TestImages.Checkerboard(640, 480);
        var v = EmbedImages(original, resized, other);
        Assert.All(v, f => Assert.Equal(512, f.Length));
        var same = Vectors.Cosine(v[0], v[1]);
        var different = Vectors.Cosine(v[0], v[2]);
        Assert.True(same > 0.9, $"resized copy cosine {same:F3}");
        Assert.True(same > different + 0.1, $"same {same:F3} vs different {different:F3}");
    }

    [Fact]
    public void Resnet18_rejects_bytes_that_are_not_an_image()
    {
        var error = Assert.Throws<Core.Errors.ProntoException>(() => EmbedImages(Encoding.UTF8.GetBytes("not an image")));
        Assert.Equal(Core.Errors.ErrorCode.InvalidArgument, error.Code);
        Assert.Contains("element 0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fraud_scores_a_typical_fraud_pattern_above_a_typical_purchase()
    {
        const string Legit = """{"amount": 42.5, "customer_avg_amount": 50, "merchant_category": 0, "hour": 18, "distance_km": 3, "txn_last_hour": 1}""";
        const string Fraud = """{"amount": 1900, "customer_avg_amount": 45, "merchant_category": 7, "hour": 3, "distance_km": 4200, "txn_last_hour": 9}""";
        var response = fixture.Service.InferDirect(Request("fraud", "fields", Legit, Fraud));
        var p = response.Outputs[0].Tensor;
        Assert.Equal("probabilities", response.Outputs[0].Name);
        Assert.Equal([2L, 2L], p.Shape.ToArray());
        var values = p.Span<float>();
        Assert.Equal(1f, values[0] + values[1], 5);
        Assert.Equal(1f, values[2] + values[3], 5);
        Assert.True(values[1] < 0.2f, $"legit P(fraud) {values[1]}");
        Assert.True(values[3] > 0.8f, $"fraud P(fraud) {values[3]}");

        var top = Classification.TopK(p, 1, fixture.Repository.Acquire("fraud").Model.Processing.GetLabels("probabilities"));
        Assert.Equal("legit", top[0][0].Label);
        Assert.Equal("fraud", top[1][0].Label);
    }

    [Fact]
    public void Fraud_names_the_missing_field()
    {
        var error = Assert.Throws<Core.Errors.ProntoException>(() => fixture.Service.InferDirect(Request("fraud", "fields", """{"amount": 1}""")));
        Assert.Equal(Core.Errors.ErrorCode.InvalidArgument, error.Code);
        Assert.Contains("missing fields customer_avg_amount, merchant_category, hour, distance_km, txn_last_hour", error.Message, StringComparison.Ordinal);
    }

    private float[][] Embed(string model, string input, params string[] texts)
    {
        var response = fixture.Service.InferDirect(Request(model, input, texts));
        return Rows(response);
    }

    private float[][] EmbedImages(params byte[][] images)
    {
        var tensor = Tensor.FromStrings(images.Select(i => (ReadOnlyMemory<byte>)i).ToArray(), images.Length);
        var response = fixture.Service.InferDirect(new InferenceRequest { ModelName = "resnet18", Inputs = [new NamedTensor("image", tensor)] });
        return Rows(response);
    }

    private static float[][] Rows(InferenceResponse response)
    {
        var t = response.Outputs[0].Tensor;
        Assert.Equal("embedding", response.Outputs[0].Name);
        var n = (int)t.Shape[0];
        var d = (int)t.Shape[1];
        var all = t.ToArray<float>();
        return [.. Enumerable.Range(0, n).Select(i => all[(i * d)..((i + 1) * d)])];
    }

    private static InferenceRequest Request(string model, string input, params string[] items) => new()
    {
        ModelName = model,
        Inputs = [new NamedTensor(input, Tensor.FromStrings(items))],
    };
}
