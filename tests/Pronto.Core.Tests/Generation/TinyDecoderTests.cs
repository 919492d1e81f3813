using Pronto.Core.Backends;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;
using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.Core.Tests.Generation;

/// <summary>The tests' tiny decoder on ONNX Runtime: the KV cache gives the logits a full re-run gives.</summary>
public sealed class TinyDecoderTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-decoder-").FullName;
    private readonly IModelInstance _instance;

    public TinyDecoderTests()
    {
        var path = Path.Combine(_root, "model.onnx");
        TinyDecoder.WriteModel(path);
        var backend = new OnnxBackend();
        var config = backend.DeriveConfig("tiny", path);
        _instance = backend.Load(config, path, CancellationToken.None);
    }

    public void Dispose()
    {
        _instance.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private IReadOnlyList<NamedTensor> Run(long[] ids, long pastLength, IReadOnlyList<NamedTensor>? present) =>
        TinyDecoder.Run(_instance, ids, pastLength, present);

    [Fact]
    public void Logits_with_the_kv_cache_step_by_step_equal_a_full_rerun()
    {
        long[] tokens = [10, 200, 33, 256, 47, 120, 5, 271, 99];
        var full = Run(tokens, 0, null)[0].Tensor;
        Assert.Equal([1L, tokens.Length, TinyDecoder.VocabSize], full.Shape.ToArray());
        var fullLogits = full.Span<float>();

        // Prefill the first 4 tokens, then one token per step on the cache.
        const int prefill = 4;
        var outputs = Run(tokens[..prefill], 0, null);
        AssertClose(fullLogits[..(prefill * TinyDecoder.VocabSize)], outputs[0].Tensor.Span<float>());
        for (var t = prefill; t < tokens.Length; t++)
        {
            outputs = Run([tokens[t]], t, outputs);
            Assert.Equal([1L, TinyDecoder.Heads, t + 1, TinyDecoder.HeadDim], outputs[1].Tensor.Shape.ToArray());
            AssertClose(fullLogits.Slice(t * TinyDecoder.VocabSize, TinyDecoder.VocabSize), outputs[0].Tensor.Span<float>());
        }
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var spread = 0f;
        for (var i = 0; i < expected.Length; i++)
        {
            spread = MathF.Max(spread, MathF.Abs(expected[i]));
            Assert.True(MathF.Abs(expected[i] - actual[i]) <= 1e-4f * (1 + MathF.Abs(expected[i])), $"logit {i}: {expected[i]} vs {actual[i]}");
        }

        // Logits of random weights spread well beyond the tolerance: the comparison is not vacuous.
        Assert.True(spread > 0.5f, $"logits spread only {spread}");
    }
}
