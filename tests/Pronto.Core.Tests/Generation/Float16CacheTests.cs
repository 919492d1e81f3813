using Pronto.Core.Generation;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.Core.Tests.Generation;

/// <summary>
/// A decoder whose past / present caches and logits are FP16 (as fp16 exports give them; the tiny decoder's weights
/// with Casts at its inputs and outputs): the loop keeps its cache in FP16, half the bytes, and gives the FP32 decoder's
/// greedy tokens, alone and batched, plain attention and GroupQueryAttention (its shared buffer in FP16).
/// </summary>
public sealed class Float16CacheTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private static readonly int[][] Prompts = GroupQueryAttentionTests.Prompts;
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-fp16-").FullName;
    private readonly ModelRepository _repository;

    public Float16CacheTests()
    {
        TinyDecoder.Write(_root, "plain");
        TinyDecoder.Write(_root, "half", float16: true);
        TinyDecoder.Write(_root, "half-gqa", groupQueryAttention: true, float16: true);
        _repository = new ModelRepository(_root, [new OnnxBackend()]);
        foreach (var name in new[] { "plain", "half", "half-gqa" })
        {
            _repository.Load(name);
        }
    }

    public void Dispose()
    {
        _repository.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private GenerationEngine Engine(string name)
    {
        using var lease = _repository.Acquire(name);
        return lease.Model.Generative!.Engine;
    }

    private static SamplingParameters Greedy(int maxTokens) => GroupQueryAttentionTests.Greedy(maxTokens);

    private static Task<int[]> Tokens(IAsyncEnumerable<GenerationChunk> stream) => GroupQueryAttentionTests.Tokens(stream);

    [Fact]
    public void An_fp16_decoder_keeps_its_cache_in_fp16_at_half_the_bytes_per_token()
    {
        var half = Engine("half");
        Assert.Equal((DataType.FP16, DataType.FP16), (half.Decoder.CacheType, half.Decoder.LogitsType));
        Assert.Equal(DataType.FP32, Engine("plain").Decoder.CacheType);
        Assert.Equal(Engine("plain").CacheBytesPerToken / 2, half.CacheBytesPerToken);
        Assert.Equal(2L * TinyDecoder.Layers * TinyDecoder.Heads * TinyDecoder.HeadDim * 2, half.CacheBytesPerToken);
    }

    [Theory]
    [InlineData("half")]
    [InlineData("half-gqa")]
    public async Task Greedy_tokens_are_the_fp32_decoder_s_alone_and_batched(string name)
    {
        var plain = Engine("plain");
        var engine = Engine(name);
        var expected = new List<int[]>();
        foreach (var prompt in Prompts)
        {
            expected.Add(await Tokens(plain.Generate(prompt, Greedy(16), CancellationToken.None)).WaitAsync(Guard));
            Assert.Equal(expected[^1], await Tokens(engine.Generate(prompt, Greedy(16), CancellationToken.None)).WaitAsync(Guard));
        }

        var gate = new StepGate();
        engine.BeforeStep = gate.Hook;
        var first = Tokens(engine.Generate(Prompts[0], Greedy(16), CancellationToken.None));
        await gate.Reached.WaitAsync(Guard);
        var others = Prompts[1..].Select(p => Tokens(engine.Generate(p, Greedy(16), CancellationToken.None))).ToList();
        gate.Open();
        Assert.Equal(expected, await Task.WhenAll(new[] { first }.Concat(others)).WaitAsync(Guard));
        Assert.Equal(3, engine.LargestBatch);
        Assert.Equal(name == "half-gqa" ? engine.Steps : 0, engine.SharedBufferSteps);
    }
}
