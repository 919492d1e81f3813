using Microsoft.Extensions.Time.Testing;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.Models.Tests;

/// <summary>Text of different lengths through the dynamic batcher: padded to the longest with a zero attention mask.</summary>
[Collection(BundledCollection.Name)]
public sealed class BatchedMinilmTests(BundledRepositoryFixture fixture)
{
    [Fact]
    public async Task Texts_padded_into_one_batch_equal_unbatched_runs()
    {
        // A repository of its own: its batcher runs on fake time.
        using var repository = new ModelRepository(fixture.Root, [new OnnxBackend()]);
        repository.Load("minilm");
        var time = new FakeTimeProvider();
        var service = new InferenceService(repository, time);
        string[] texts = ["short", "a considerably longer sentence that pads the others in the batch", "medium length text here"];

        var tasks = texts.Select(t => service.InferAsync(Request(t))).ToArray();
        time.Advance(TimeSpan.FromMilliseconds(1));
        var batched = await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60));

        for (var i = 0; i < texts.Length; i++)
        {
            Assert.Equal(3L, batched[i].Parameters[InferenceService.BatchSizeParameter]);
            var single = service.Infer(Request(texts[i])).Outputs[0].Tensor.ToArray<float>();
            var together = batched[i].Outputs[0].Tensor.ToArray<float>();
            Assert.Equal(single.Length, together.Length);
            for (var d = 0; d < single.Length; d++)
            {
                Assert.Equal(single[d], together[d], 1e-4f);
            }
        }
    }

    private static InferenceRequest Request(string text) =>
        new() { ModelName = "minilm", Inputs = [new NamedTensor("text", Tensor.FromStrings([text]))] };
}
