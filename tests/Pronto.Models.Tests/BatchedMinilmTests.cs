using Microsoft.Extensions.Time.Testing;
using Pronto.Core.Configuration;
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
        // A repository of its own over the bundled minilm files, with eager batching off: the bundled config starts a
        // batch as soon as an instance is free, so which requests share a batch would depend on the scheduler. Here a
        // batch forms only when the fake clock passes the queue delay, after all three requests are queued.
        var root = QueuedMinilm();
        using var cleanup = new TempDirectory(root);
        var time = new FakeTimeProvider();
        using var repository = new ModelRepository(root, [new OnnxBackend()], time: time);
        repository.Load("minilm");
        var service = new InferenceService(repository);
        string[] texts = ["short", "a considerably longer sentence that pads the others in the batch", "medium length text here"];

        var tasks = texts.Select(t => service.InferAsync(Request(t))).ToArray();
        time.Advance(TimeSpan.FromSeconds(1));
        var batched = await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60));

        for (var i = 0; i < texts.Length; i++)
        {
            Assert.Equal(3L, batched[i].Parameters[InferenceService.BatchSizeParameter]);
            var single = fixture.Service.InferDirect(Request(texts[i])).Outputs[0].Tensor.ToArray<float>();
            var together = batched[i].Outputs[0].Tensor.ToArray<float>();
            Assert.Equal(single.Length, together.Length);
            for (var d = 0; d < single.Length; d++)
            {
                Assert.Equal(single[d], together[d], 1e-4f);
            }
        }
    }

    // A temporary repository: the bundled minilm's files (the 90 MB model.onnx linked, not copied) with a config that
    // waits up to 1 s of queue delay and is not eager.
    private string QueuedMinilm()
    {
        var root = Directory.CreateTempSubdirectory("pronto-minilm-queued-").FullName;
        var source = Path.Combine(fixture.Root, "minilm");
        var target = Directory.CreateDirectory(Path.Combine(root, "minilm")).FullName;
        File.CreateSymbolicLink(Path.Combine(Directory.CreateDirectory(Path.Combine(target, "1")).FullName, "model.onnx"), Path.Combine(source, "1", "model.onnx"));
        File.Copy(Path.Combine(source, "vocab.txt"), Path.Combine(target, "vocab.txt"));
        // Edited as a config, not as text: the bundled file's layout is ModelConfigText.Format's to choose.
        var config = ModelConfigText.Parse(File.ReadAllText(Path.Combine(source, "config.pbtxt")), "minilm");
        Assert.Equal("true", config.Parameters[ProntoParameters.DynamicBatchingEager]);
        Assert.Equal(1000, config.DynamicBatching!.MaxQueueDelayMicroseconds);
        config.Parameters[ProntoParameters.DynamicBatchingEager] = "false";
        config.DynamicBatching.MaxQueueDelayMicroseconds = 1_000_000;
        File.WriteAllText(Path.Combine(target, "config.pbtxt"), ModelConfigText.Format(config));
        return root;
    }

    private sealed class TempDirectory(string path) : IDisposable
    {
        public void Dispose() => Directory.Delete(path, recursive: true);
    }

    private static InferenceRequest Request(string text) =>
        new() { ModelName = "minilm", Inputs = [new NamedTensor("text", Tensor.FromStrings([text]))] };
}
