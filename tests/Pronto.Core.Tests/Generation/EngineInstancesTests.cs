using Pronto.Core.Errors;
using Pronto.Core.Generation;
using Pronto.Core.Repository;
using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.Core.Tests.Generation;

/// <summary>
/// instance_group on a generative model: one decode loop (engine) per instance over the version's one session, each
/// request on the engine with the fewest sequences; and intra_op_thread_count, the session's own pool. Engines are
/// held with the BeforeStep hook (a gate the test opens), never with sleeps.
/// </summary>
public sealed class EngineInstancesTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private static readonly int[][] Prompts = GenerationEngineTests.Prompts;
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-instances-").FullName;
    private readonly ModelRepository _repository;

    public EngineInstancesTests()
    {
        TinyDecoder.Write(_root, "tiny");
        TinyDecoder.Write(_root, "pair", extraParameters: new Dictionary<string, string> { [OnnxBackend.IntraOpThreadCountKey] = "1" });
        File.AppendAllText(Path.Combine(_root, "pair", "config.pbtxt"), "instance_group { count: 2 kind: KIND_CPU }\n");
        _repository = new ModelRepository(_root, [new OnnxBackend()]);
        _repository.Load("tiny");
        _repository.Load("pair");
    }

    public void Dispose()
    {
        _repository.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private GenerativeModel Model(string name)
    {
        using var lease = _repository.Acquire(name);
        return lease.Model.Generative ?? throw new InvalidOperationException($"{name} is not generative");
    }

    private static SamplingParameters Greedy(int maxTokens) => new() { Temperature = 0, MaxTokens = maxTokens, IgnoreEos = true };

    private static async Task<List<int>> Tokens(IAsyncEnumerable<GenerationChunk> stream)
    {
        var tokens = new List<int>();
        await foreach (var chunk in stream.WithCancellation(CancellationToken.None))
        {
            tokens.Add(chunk.TokenId);
        }

        return tokens;
    }

    [Fact]
    public async Task Each_instance_is_an_engine_and_a_request_goes_to_the_one_with_fewest_sequences()
    {
        var tiny = Model("tiny");
        var expected = new List<List<int>>();
        foreach (var prompt in Prompts)
        {
            expected.Add(await Tokens(tiny.Engine.Generate(prompt, Greedy(12), CancellationToken.None)).WaitAsync(Guard));
        }

        var pair = Model("pair");
        Assert.Single(tiny.Engines);
        Assert.Equal(2, pair.Engines.Count);
        Assert.Equal((2 * GenerativeModel.DefaultMaxRunning, 2 * GenerativeModel.DefaultMaxWaiting), (pair.MaxRunning, pair.MaxWaiting));
        var (a, b) = (pair.Engines[0], pair.Engines[1]);
        Assert.NotSame(a, b);

        // The first request goes to the first engine (both empty), which the gate holds with it waiting; the second
        // goes to the other engine and finishes there while the first engine is still held.
        var gate = new StepGate();
        a.BeforeStep = gate.Hook;
        var first = Tokens(pair.Generate(Prompts[0], Greedy(12), CancellationToken.None));
        await gate.Reached.WaitAsync(Guard);
        Assert.Equal((1, 0), (a.Waiting, b.Waiting));
        var second = await Tokens(pair.Generate(Prompts[1], Greedy(12), CancellationToken.None)).WaitAsync(Guard);
        Assert.Equal((0L, 12L), (a.GeneratedTokens, b.GeneratedTokens));

        // The first engine still has one sequence and the second none: the third request goes to the second too.
        var third = await Tokens(pair.Generate(Prompts[2], Greedy(12), CancellationToken.None)).WaitAsync(Guard);
        Assert.Equal((0L, 24L), (a.GeneratedTokens, b.GeneratedTokens));
        gate.Open();
        var firstTokens = await first.WaitAsync(Guard);
        Assert.Equal((12L, 24L), (a.GeneratedTokens, b.GeneratedTokens));

        // Both engines run the same session (with its own single-thread pool): the tokens of one engine alone.
        Assert.Equal(expected, [firstTokens, second, third]);
        Assert.NotEqual(expected[0], expected[1]);
        Assert.Equal((0, 0, 0, 0), (a.Running, a.Waiting, b.Running, b.Waiting));
    }

    [Fact]
    public async Task A_model_refuses_a_request_only_when_the_least_loaded_engine_queue_is_full()
    {
        // Two engines of one waiting sequence each, both held: one request waits on each, the third is refused.
        TinyDecoder.Write(_root, "small", extraParameters: new Dictionary<string, string> { ["pronto.generative.max_waiting"] = "1" });
        File.AppendAllText(Path.Combine(_root, "small", "config.pbtxt"), "instance_group { count: 2 }\n");
        _repository.Load("small");
        var small = Model("small");
        var gates = small.Engines.Select(_ => new StepGate()).ToArray();
        for (var i = 0; i < gates.Length; i++)
        {
            small.Engines[i].BeforeStep = gates[i].Hook;
        }

        var first = small.CompleteAsync(Prompts[0], Greedy(8), CancellationToken.None);
        var second = small.CompleteAsync(Prompts[1], Greedy(8), CancellationToken.None);
        await Task.WhenAll(gates.Select(g => g.Reached)).WaitAsync(Guard);
        Assert.Equal([1, 1], small.Engines.Select(e => e.Waiting));
        var refused = Assert.Throws<ProntoException>(() => small.Generate(Prompts[2], Greedy(8), CancellationToken.None));
        Assert.Equal(ErrorCode.Unavailable, refused.Code);
        Assert.Equal("model 'small' has 1 sequences waiting already; retry later", refused.Message);

        foreach (var gate in gates)
        {
            gate.Open();
        }

        var tiny = Model("tiny");
        Assert.Equal(await tiny.CompleteAsync(Prompts[0], Greedy(8), CancellationToken.None).WaitAsync(Guard), await first.WaitAsync(Guard));
        Assert.Equal(await tiny.CompleteAsync(Prompts[1], Greedy(8), CancellationToken.None).WaitAsync(Guard), await second.WaitAsync(Guard));
        Assert.Equal([8L, 8L], small.Engines.Select(e => e.GeneratedTokens));
    }

    [Theory]
    [InlineData("two")]
    [InlineData("-1")]
    public void An_intra_op_thread_count_that_is_not_a_count_fails_the_load_with_the_key_and_value(string value)
    {
        TinyDecoder.Write(_root, "bad", extraParameters: new Dictionary<string, string> { [OnnxBackend.IntraOpThreadCountKey] = value });
        // The backend reads the key when it opens the session: the version fails to load with the reason, as Triton's does.
        var reason = $"model 'bad': config parameter 'intra_op_thread_count' must be 0 (the shared pool) or a positive number of threads, got '{value}'";
        var error = Assert.Throws<ProntoException>(() => _repository.Load("bad"));
        Assert.Equal(ErrorCode.Unavailable, error.Code);
        Assert.Equal($"model 'bad' version 1 failed to load: {reason}", error.Message);
        Assert.Equal((ModelState.Unavailable, reason), _repository.Index().Where(s => s.Name == "bad").Select(s => (s.State, s.Reason)).Single());
        Assert.Equal(ModelState.Ready, _repository.Index().Single(s => s.Name == "pair").State);
    }
}
