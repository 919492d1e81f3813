using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;
using Pronto.Testing;

namespace Pronto.Library.Tests;

/// <summary>The facade against the bundled models: its answers are the server path's (InferenceService) to the bit.</summary>
public sealed class FacadeTests(BundledRepositoryFixture bundled) : IClassFixture<BundledRepositoryFixture>
{
    private static readonly Dictionary<string, double> Transaction = new()
    {
        ["amount"] = 950, ["customer_avg_amount"] = 40, ["merchant_category"] = 3, ["hour"] = 3, ["distance_km"] = 800, ["txn_last_hour"] = 6,
    };

    [Fact]
    public async Task Embedding_equals_the_inference_services_output_for_the_same_text()
    {
        using var pronto = ProntoRuntime.Open(bundled.Root);
        using var generator = pronto.GetEmbeddingGenerator("minilm");
        var embeddings = await generator.GenerateAsync(["a cat sat on the mat", "stock markets fell"]);

        var expected = await bundled.Service.InferAsync(new InferenceRequest
        {
            ModelName = "minilm",
            Inputs = [new NamedTensor("text", Tensor.FromStrings(["a cat sat on the mat", "stock markets fell"], [2]))],
        });
        var all = expected.Outputs.Single(o => o.Name == "embedding").Tensor.ToArray<float>();
        Assert.Equal(2, embeddings.Count);
        Assert.Equal(384, embeddings[0].Vector.Length);
        Assert.Equal(all[..384], embeddings[0].Vector.ToArray());
        Assert.Equal(all[384..], embeddings[1].Vector.ToArray());
        Assert.Equal(384, generator.GetService<EmbeddingGeneratorMetadata>()!.DefaultModelDimensions);
    }

    [Fact]
    public async Task Fraud_probability_equals_the_server_paths()
    {
        using var pronto = ProntoRuntime.Open(bundled.Root);
        var classifier = pronto.GetClassifier("fraud");
        var result = await classifier.ClassifyAsync(Transaction);

        var json = System.Text.Json.JsonSerializer.Serialize(Transaction);
        var expected = await bundled.Service.InferAsync(new InferenceRequest
        {
            ModelName = "fraud",
            Inputs = [new NamedTensor("fields", Tensor.FromStrings([(ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(json)], 1))],
        });
        var probabilities = expected.Outputs.Single(o => o.Name == "probabilities").Tensor.ToArray<float>();
        Assert.Equal(classifier.Labels.Count, probabilities.Length);
        Assert.Equal(probabilities, result.Classes.Select(c => c.Probability).ToArray());
        var best = probabilities[0] >= probabilities[1] ? 0 : 1;
        Assert.Equal(classifier.Labels[best], result.Label);
        Assert.Equal(probabilities[best], result.Probability);
        Assert.Equal(probabilities[best], result[classifier.Labels[best]]);
    }

    [Fact]
    public void A_model_of_the_wrong_kind_is_a_clear_error()
    {
        using var pronto = ProntoRuntime.Open(bundled.Root);
        var e = Assert.Throws<ProntoException>(() => pronto.GetEmbeddingGenerator("fraud"));
        Assert.Equal(ErrorCode.InvalidArgument, e.Code);
        Assert.Contains("model 'fraud' is not a text-embedding model", e.Message, StringComparison.Ordinal);
        var missing = Assert.Throws<ProntoException>(() => ProntoRuntime.Open(Path.Combine(bundled.Root, "no-such-folder")));
        Assert.Equal(ErrorCode.NotFound, missing.Code);
    }

    [Fact]
    public async Task AddPronto_registers_the_runtime_and_the_models_interfaces()
    {
        var services = new ServiceCollection();
        services.AddPronto(bundled.Root).AddEmbeddingGenerator("minilm").AddClassifier("fraud", key: "fraud");
        await using (var provider = services.BuildServiceProvider())
        {
            var generator = provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
            var classifier = provider.GetRequiredKeyedService<ProntoClassifier>("fraud");
            Assert.Same(provider.GetRequiredService<ProntoRuntime>(), generator.GetService<ProntoRuntime>());
            Assert.Equal("fraud", classifier.Model);
            Assert.Single(await generator.GenerateAsync(["hello"]));
        }
    }
}
