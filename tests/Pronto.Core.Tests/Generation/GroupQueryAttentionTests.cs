using Pronto.Core.Backends;
using Pronto.Core.Generation;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.Core.Tests.Generation;

/// <summary>
/// A decoder whose attention is ONNX Runtime's GroupQueryAttention (as GenAI's model builder writes Llama, Phi, Qwen):
/// the same weights give the plain graph's logits, the loop pads its batches on the right for it, and its greedy tokens
/// are the plain decoder's, batched or alone, whole or chunked prefill.
/// </summary>
public sealed class GroupQueryAttentionTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    internal static readonly int[][] Prompts = [[72, 101, 108, 108, 111], [258, 32, 99], [84, 104, 105, 115, 32, 105, 115, 32, 97, 32, 116, 101, 115, 116]];
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-gqa-").FullName;
    private readonly ModelRepository _repository;

    public GroupQueryAttentionTests()
    {
        TinyDecoder.Write(_root, "plain");
        TinyDecoder.Write(_root, "gqa", groupQueryAttention: true);
        TinyDecoder.Write(_root, "gqa-chunked", groupQueryAttention: true, extraParameters: new Dictionary<string, string> { ["pronto.generative.max_step_tokens"] = "4" });
        _repository = new ModelRepository(_root, [new OnnxBackend()]);
        foreach (var name in new[] { "plain", "gqa", "gqa-chunked" })
        {
            _repository.Load(name);
        }
    }

    public void Dispose()
    {
        _repository.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private GenerativeModel Model(string name)
    {
        using var lease = _repository.Acquire(name);
        return lease.Model.Generative!;
    }

    internal static SamplingParameters Greedy(int maxTokens) => new() { Temperature = 0, MaxTokens = maxTokens, IgnoreEos = true };

    internal static async Task<int[]> Tokens(IAsyncEnumerable<GenerationChunk> stream)
    {
        var tokens = new List<int>();
        await foreach (var chunk in stream)
        {
            tokens.Add(chunk.TokenId);
        }

        return [.. tokens];
    }

    [Fact]
    public void The_group_query_attention_graph_gives_the_plain_graph_s_logits_whole_and_on_its_cache()
    {
        var backend = new OnnxBackend();
        IModelInstance Load(string name)
        {
            var path = Path.Combine(_root, name, "1", "model.onnx");
            return backend.Load(backend.DeriveConfig(name, path), path, CancellationToken.None);
        }

        using var plain = Load("plain");
        using var gqa = Load("gqa");
        IReadOnlyList<NamedTensor> Run(IModelInstance instance, long[] ids, long past, IReadOnlyList<NamedTensor>? present) =>
            TinyDecoder.Run(instance, ids, past, present);

        long[] tokens = [10, 200, 33, 256, 47, 120, 5];
        var expected = Run(plain, tokens, 0, null)[0].Tensor.ToArray<float>();
        Assert.Equal(expected, Run(gqa, tokens, 0, null)[0].Tensor.ToArray<float>(), new Close());

        // Prefill 3 (a first prompt), then 2 (a chunk on the cache), then one token at a time.
        var step = Run(gqa, tokens[..3], 0, null);
        var vocab = TinyDecoder.VocabSize;
        Assert.Equal(expected[..(3 * vocab)], step[0].Tensor.ToArray<float>(), new Close());
        step = Run(gqa, tokens[3..5], 3, step);
        Assert.Equal(expected[(3 * vocab)..(5 * vocab)], step[0].Tensor.ToArray<float>(), new Close());
        for (var t = 5; t < tokens.Length; t++)
        {
            step = Run(gqa, [tokens[t]], t, step);
            Assert.Equal(expected[(t * vocab)..((t + 1) * vocab)], step[0].Tensor.ToArray<float>(), new Close());
        }
    }

    [Fact]
    public void The_loop_pads_a_group_query_attention_decoder_s_batches_on_the_right_and_others_on_the_left()
    {
        Assert.True(Model("gqa").Engine.Decoder.PadsRight);
        Assert.False(Model("plain").Engine.Decoder.PadsRight);
    }

    [Theory]
    [InlineData("gqa")]
    [InlineData("gqa-chunked")]
    public async Task Greedy_tokens_are_the_plain_decoder_s_batched_and_alone(string name)
    {
        var plain = Model("plain").Engine;
        var engine = Model(name).Engine;
        var expected = new List<int[]>();
        foreach (var prompt in Prompts)
        {
            expected.Add(await Tokens(plain.Generate(prompt, Greedy(12), CancellationToken.None)).WaitAsync(Guard));
            Assert.Equal(expected[^1], await Tokens(engine.Generate(prompt, Greedy(12), CancellationToken.None)).WaitAsync(Guard));
        }

        // All three in one batch of different lengths (the left-padded layout would give the shorter ones other tokens).
        var gate = new StepGate();
        engine.BeforeStep = gate.Hook;
        var first = Tokens(engine.Generate(Prompts[0], Greedy(12), CancellationToken.None));
        await gate.Reached.WaitAsync(Guard);
        var others = Prompts[1..].Select(p => Tokens(engine.Generate(p, Greedy(12), CancellationToken.None))).ToList();
        gate.Open();
        var batched = await Task.WhenAll(new[] { first }.Concat(others)).WaitAsync(Guard);
        Assert.Equal(3, engine.LargestBatch);
        Assert.Equal(expected, batched);
        Assert.NotEqual(expected[0], expected[1]);

        // Every step ran on the shared past/present buffer; the plain decoder never does.
        Assert.Equal(engine.Steps, engine.SharedBufferSteps);
        Assert.Equal(0, plain.SharedBufferSteps);
    }

    [Fact]
    public async Task Rows_of_the_shared_buffer_move_down_when_sequences_leave_and_the_buffer_grows_past_its_first_capacity()
    {
        // 60 tokens (the buffer starts at the longest sequence + 32 and grows), 5 and 8: the second leaves first and
        // the third's row moves into its place, then the third leaves and the first runs on alone.
        var plain = Model("plain").Engine;
        int[] lengths = [60, 5, 8];
        var expected = new List<int[]>();
        for (var i = 0; i < Prompts.Length; i++)
        {
            expected.Add(await Tokens(plain.Generate(Prompts[i], Greedy(lengths[i]), CancellationToken.None)).WaitAsync(Guard));
        }

        var engine = Model("gqa").Engine;
        var capacities = new List<int>();
        var gate = new StepGate { OnStep = _ => capacities.Add(engine.SharedCapacity) };
        engine.BeforeStep = gate.Hook;
        var first = Tokens(engine.Generate(Prompts[0], Greedy(lengths[0]), CancellationToken.None));
        await gate.Reached.WaitAsync(Guard);
        var others = Enumerable.Range(1, 2).Select(i => Tokens(engine.Generate(Prompts[i], Greedy(lengths[i]), CancellationToken.None))).ToList();
        gate.Open();
        var batched = await Task.WhenAll(new[] { first }.Concat(others)).WaitAsync(Guard);

        Assert.Equal(expected, batched);
        Assert.Equal(3, engine.LargestBatch);
        Assert.Equal(59, engine.SharedBufferSteps); // one step per token after each prompt's first, the longest's
        Assert.Equal(2, engine.CacheRebuilds);      // the three joining at once, the third moving down; the last leaving moves nothing

        // None before the first step; the first step's 14 + 1 tokens + 32; past 47, twice that (the context is 96).
        Assert.Equal([0, 47, 94], capacities.Distinct());
    }

    private sealed class Close : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) < 1e-4f;

        public int GetHashCode(float obj) => 0;
    }
}
