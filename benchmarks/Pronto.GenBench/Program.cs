using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntimeGenAI;
using Pronto.Core.Generation;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Tensor = Pronto.Core.Tensors.Tensor;
using Pronto.Onnx;
using Pronto.Models.Generative;
using Pronto.Testing;

// Generation, in one process, A and B alternated per pair:
//   Pronto: the decode loop (continuous batching, one engine) with S concurrent streams, and with one stream alone;
//   peer:   ONNX Runtime GenAI 0.20.0, one Generator per request run concurrently (what a .NET developer writes);
// on a decoder generated in GenAI's layout (random fixed weights; TinyDecoder's graph at the given size). Reports
// aggregate generated tokens/s, p50 time to first token and inter-token latency, CPU-seconds per 1,000 tokens, and
// time to first token at concurrency 1 against the raw engine's prefill of the same prompt.
// Then chunked prefill: 4 streams decode while a long prompt (--long tokens) joins, with the step budget at the
// default (512: the prompt is prefilled whole) and at --budget (chunks); reports the running streams' largest and p99
// inter-token gaps and the long prompt's time to first token.
// With --demo FOLDER (a prepared support-chat model, `pronto models prepare support-chat`), the same runs on the bundled
// demo model instead: its files are copied with a genai_config.json that names its Optimum tensors for the peer.
// Usage: Pronto.GenBench [--layers 12] [--heads 16] [--head-dim 64] [--streams 16] [--tokens 64] [--prompt 32]
//                        [--pairs 2] [--threads 2] [--long 384] [--budget 64] [--gqa 0|1] [--warmup 6] [--rounds 1|20] [--instances 1]
//                        [--session-threads 0] [--peer-threads 2] [--demo FOLDER]
var demo = args.SkipWhile(a => a != "--demo").Skip(1).FirstOrDefault();
var options = args.Chunk(2).Where(p => p[0] != "--demo").ToDictionary(p => p[0].TrimStart('-'), p => int.Parse(p[1], CultureInfo.InvariantCulture));
int Opt(string name, int fallback) => options.GetValueOrDefault(name, fallback);
var shape = new DecoderShape(Opt("layers", 12), Opt("heads", 16), Opt("head-dim", 64), 512);
int streams = Opt("streams", 16), tokens = Opt("tokens", 64), promptLength = Opt("prompt", 32), pairs = Opt("pairs", 2), threads = Opt("threads", 2);
int longPrompt = Opt("long", demo is null ? 384 : 0), budget = Opt("budget", 64);
// Rounds per measured run: a demo-model round of 16 streams lasts ~0.05 s, so its runs take 20 rounds by default.
var rounds = Opt("rounds", demo is null ? 1 : 20);
// Pronto's engines (instance_group) and its session's own pool (intra_op_thread_count; 0: the shared pool): the bundled
// demo model's config by default (2 and 1), 1 and 0 on the generated decoder; --peer-threads, the peer's session threads.
int instances = Opt("instances", demo is null ? 1 : 2), sessionThreads = Opt("session-threads", demo is null ? 0 : 1), peerThreads = Opt("peer-threads", threads);
var gqa = Opt("gqa", 0) == 1; // the generated decoder's attention as GroupQueryAttention (GenAI's model builder's)

var root = Directory.CreateTempSubdirectory("pronto-genbench-").FullName;
try
{
    var clock = Stopwatch.StartNew();
    var described = demo is null ? WriteGenerated() : WriteDemo(demo);
    // The model's settings beside genai_config.json: all S streams may decode in one step (the default is 8); with
    // --instances N, N engines (instance_group) of S / N each, and --session-threads T, the session's own pool of T
    // threads (intra_op_thread_count) instead of the shared one.
    var ownPool = sessionThreads > 0 ? $"parameters {{ key: \"intra_op_thread_count\" value {{ string_value: \"{sessionThreads}\" }} }}\n" : "";
    File.WriteAllText(Path.Combine(root, "decoder", "config.pbtxt"), string.Create(CultureInfo.InvariantCulture,
        $"name: \"decoder\"\ninstance_group {{ count: {instances} }}\nparameters {{ key: \"pronto.generative.max_running\" value {{ string_value: \"{(streams + instances - 1) / instances}\" }} }}\n{ownPool}"));
    // The same files with a small step budget: the long prompt is prefilled in chunks there.
    Directory.CreateDirectory(Path.Combine(root, "chunked"));
    Directory.CreateSymbolicLink(Path.Combine(root, "chunked", "1"), Path.Combine(root, "decoder", "1"));
    File.WriteAllText(Path.Combine(root, "chunked", "config.pbtxt"), string.Create(CultureInfo.InvariantCulture,
        $"name: \"chunked\"\nparameters {{ key: \"pronto.generative.max_step_tokens\" value {{ string_value: \"{budget}\" }} }}\n"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"decoder: {described}, written in {clock.Elapsed.TotalSeconds:F1} s"));

    string WriteGenerated()
    {
        TinyDecoder.WriteGenai(root, "decoder", seed: 11, shape: shape, intraOpThreads: peerThreads, groupQueryAttention: gqa);
        var file = new FileInfo(Path.Combine(root, "decoder", "1", "decoder.onnx"));
        return string.Create(CultureInfo.InvariantCulture,
            $"generated, {shape.Layers} layers, {shape.Heads} heads x {shape.HeadDim}{(gqa ? ", GroupQueryAttention" : "")}, {shape.Parameters(TinyDecoder.VocabSize) / 1e6:F1} M parameters, {file.Length / 1e6:F0} MB");
    }

    string WriteDemo(string folder)
    {
        var version = Path.Combine(root, "decoder", "1");
        Directory.CreateDirectory(version);
        foreach (var source in Directory.GetFiles(Path.Combine(folder, "1")))
        {
            File.Copy(source, Path.Combine(version, Path.GetFileName(source)));
        }

        var onnx = Pronto.Models.Onnx.OnnxModelEditor.Load(Path.Combine(version, "model.onnx"));
        var past = onnx.Graph.Input.First(i => i.Name == DecoderWeights.PastKey(0)).Type.TensorType.Shape.Dim;
        var (layers, heads, headDim) = (onnx.Graph.Input.Count(i => i.Name.EndsWith(".key", StringComparison.Ordinal)), (int)past[1].DimValue, (int)past[3].DimValue);
        var vocab = (int)onnx.Graph.Output[0].Type.TensorType.Shape.Dim[2].DimValue;
        var context = (int)onnx.Graph.Initializer.First(t => t.Name == "pos_embed").Dims[0];
        var tokenizer = GenerativeTokenizer.Load(Path.Combine(version, "tokenizer.json"));
        // A demo written with GroupQueryAttention: the peer decodes on a shared past/present buffer too, as Pronto does.
        var sharedBuffer = onnx.Graph.Node.Any(n => n.OpType == "GroupQueryAttention");
        File.WriteAllText(Path.Combine(version, "genai_config.json"), $$"""
            {
              "model": {
                "type": "llama", "context_length": {{context}}, "vocab_size": {{vocab}},
                "eos_token_id": {{tokenizer.TokenId(SupportChatModel.ImEnd)}}, "bos_token_id": {{tokenizer.TokenId(SupportChatModel.EndOfText)}}, "pad_token_id": {{tokenizer.TokenId(SupportChatModel.EndOfText)}},
                "decoder": {
                  "filename": "model.onnx", "session_options": {"intra_op_num_threads": {{peerThreads}}},
                  "head_size": {{headDim}}, "num_attention_heads": {{heads}}, "num_key_value_heads": {{heads}}, "num_hidden_layers": {{layers}}, "hidden_size": {{heads * headDim}},
                  "inputs": { "input_ids": "input_ids", "attention_mask": "attention_mask", "position_ids": "position_ids",
                              "past_key_names": "past_key_values.%d.key", "past_value_names": "past_key_values.%d.value" },
                  "outputs": { "logits": "logits", "present_key_names": "present.%d.key", "present_value_names": "present.%d.value" }
                }
              },
              "search": { "max_length": {{context}}, "do_sample": false{{(sharedBuffer ? ", \"past_present_share_buffer\": true" : "")}} }
            }
            """);
        var parameters = onnx.Graph.Initializer.Where(t => t.DataType == (int)Pronto.Models.Onnx.TensorProto.Types.DataType.Float).Sum(t => t.Dims.Aggregate(1L, (a, d) => a * d));
        return string.Create(CultureInfo.InvariantCulture, $"the demo model support-chat ({folder}), {layers} layers, {heads} heads x {headDim}, {parameters / 1e6:F2} M parameters, context {context}");
    }
    Console.WriteLine($"machine: {Environment.ProcessorCount} CPUs, {File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim()}; {streams} streams x {tokens} tokens, prompts of {promptLength}, {rounds} round(s) a run; Pronto: {instances} engine(s), {(sessionThreads > 0 ? $"{sessionThreads} thread(s) of the session's own" : $"the shared pool of {threads} threads")}; peer: {peerThreads} thread(s) a session");

    // Pronto's backend first: ONNX Runtime's one environment per process must have global thread pools (docs/generative.md).
    using var repository = new ModelRepository(root, [new OnnxBackend(new OnnxBackendOptions { IntraOpThreads = threads })]);
    repository.Load("decoder");
    repository.Load("chunked");
    using var genaiModel = new Model(Path.Combine(root, "decoder", "1"));

    var prompts = Enumerable.Range(0, streams).Select(s => Enumerable.Range(0, promptLength).Select(i => 97 + ((s * 7 + i * 3) % 26)).ToArray()).ToArray();
    var rows = new List<(string Name, Run Run)>();
    // Warm-up of both (first runs at each shape, JIT): every stream, so the first measured pair does not meet the
    // batch of all streams (its prefill and decode shapes, ORT's arena growth) for the first time; and enough decode
    // steps (--warmup whole runs of each) that the decode loop's methods run tier-1 code, as in a server that has been
    // serving (Directory.Build.props: a method tiers up after 300 calls; the step methods run once a step).
    for (var i = 0; i < Opt("warmup", 6); i++)
    {
        await ProntoAsync(repository, prompts, tokens);
        await ProntoAsync(repository, prompts[..1], tokens);
    }

    await PeerAsync(genaiModel, prompts, tokens);
    for (var pair = 1; pair <= pairs; pair++)
    {
        rows.Add(($"pronto x{streams}", await ProntoAsync(repository, prompts, tokens, rounds)));
        rows.Add(($"peer x{streams}", await PeerAsync(genaiModel, prompts, tokens, rounds)));
        rows.Add(("pronto x1", await ProntoAsync(repository, prompts[..1], tokens, rounds)));
        rows.Add(("peer x1", await PeerAsync(genaiModel, prompts[..1], tokens, rounds)));
        rows.Add(("raw prefill", Prefill(repository, prompts[0])));
        rows.Add(("pronto x1 first token", await FirstTokensAsync(repository, prompts[0])));
    }

    Console.WriteLine("\n| run | pair | tokens | seconds | tokens/s | TTFT p50 ms | inter-token p50 ms | inter-token p99 ms | CPU-s / 1k tokens |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
    var index = 0;
    foreach (var (name, run) in rows)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {(index++ / 6) + 1} | {run.Tokens} | {run.Seconds:F2} | {run.Tokens / run.Seconds:F1} | {run.TtftP50Ms:F1} | {run.ItlP50Ms:F1} | {run.ItlP99Ms:F1} | {(run.Tokens > 0 ? run.CpuSeconds * 1000 / run.Tokens : double.NaN):F2} |"));
    }

    // The median of the pairs (the lower middle one for an even count).
    double Median(string name, Func<Run, double> f) => rows.Where(r => r.Name == name).Select(r => f(r.Run)).Order().ElementAt((pairs - 1) / 2);
    double Rate(Run r) => r.Tokens / r.Seconds;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""

        pronto x{streams} / pronto x1 aggregate tokens/s: {Median($"pronto x{streams}", Rate) / Median("pronto x1", Rate):F2} (target >= 4)
        pronto x{streams} / peer x{streams} aggregate tokens/s: {Median($"pronto x{streams}", Rate) / Median($"peer x{streams}", Rate):F2} (target >= 2)
        pronto x{streams} / peer x{streams} p50 inter-token latency: {Median($"pronto x{streams}", r => r.ItlP50Ms) / Median($"peer x{streams}", r => r.ItlP50Ms):F2} (target <= 1.5)
        pronto x1 TTFT p50 / raw prefill: {Median("pronto x1 first token", r => r.TtftP50Ms) / Median("raw prefill", r => r.TtftP50Ms):F2} (target <= 1.1; 9 requests of one token each, as raw prefill's 9 runs; the x1 stream's own first token after the peer's run: {Median("pronto x1", r => r.TtftP50Ms) / Median("raw prefill", r => r.TtftP50Ms):F2})
        CPU-s per 1,000 tokens: pronto x{streams} {Median($"pronto x{streams}", r => r.CpuSeconds * 1000 / r.Tokens):F2}, peer x{streams} {Median($"peer x{streams}", r => r.CpuSeconds * 1000 / r.Tokens):F2}, pronto x1 {Median("pronto x1", r => r.CpuSeconds * 1000 / r.Tokens):F2}
        """));

    if (longPrompt > 0)
    {
        var joining = Enumerable.Range(0, longPrompt).Select(i => 97 + ((i * 5) % 26)).ToArray();
        var chunkRows = new List<(string Name, LongRun Run)>();
        await LongPromptAsync(repository, "chunked", prompts[..4], joining, tokens);
        for (var pair = 1; pair <= pairs; pair++)
        {
            chunkRows.Add(("whole (budget 512)", await LongPromptAsync(repository, "decoder", prompts[..4], joining, tokens)));
            chunkRows.Add(($"chunked (budget {budget})", await LongPromptAsync(repository, "chunked", prompts[..4], joining, tokens)));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"\n4 streams x {tokens} tokens decoding; a {longPrompt}-token prompt joins after their 8th token:\n"));
        Console.WriteLine("| prefill | pair | running streams' largest gap ms | their p99 gap ms | their p50 gap ms | long prompt's TTFT ms |");
        Console.WriteLine("|---|---|---|---|---|---|");
        var at = 0;
        foreach (var (name, run) in chunkRows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {(at++ / 2) + 1} | {run.MaxGapMs:F1} | {run.P99GapMs:F1} | {run.P50GapMs:F1} | {run.JoinTtftMs:F1} |"));
        }

        double LongMedian(string prefix, Func<LongRun, double> f) => chunkRows.Where(r => r.Name.StartsWith(prefix, StringComparison.Ordinal)).Select(r => f(r.Run)).Order().ElementAt((pairs - 1) / 2);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"\nchunked / whole: running streams' largest gap {LongMedian("chunked", r => r.MaxGapMs) / LongMedian("whole", r => r.MaxGapMs):F2}, long prompt's TTFT {LongMedian("chunked", r => r.JoinTtftMs) / LongMedian("whole", r => r.JoinTtftMs):F2}"));
    }
}
finally
{
    Directory.Delete(root, recursive: true);
}

return 0;

// Each run is `rounds` rounds one after another, every stream's times from its own round's start (a demo-model round
// lasts ~0.05 s: one alone is mostly noise).
static async Task<Run> ProntoAsync(ModelRepository repository, int[][] prompts, int tokens, int rounds = 1)
{
    using var lease = repository.Acquire("decoder");
    var model = lease.Model.Generative!;
    var parameters = new SamplingParameters { Temperature = 0, MaxTokens = tokens, IgnoreEos = true };
    var recorder = new Recorder();
    for (var round = 0; round < rounds; round++)
    {
        recorder.NextRound();
        await Task.WhenAll(prompts.Select(async prompt =>
        {
            var stream = recorder.Stream();
            await foreach (var chunk in model.Generate(prompt, parameters, CancellationToken.None))
            {
                stream.Token();
            }
        }));
    }

    return recorder.Done();
}

// Time to first token at concurrency 1 as a p50: 9 requests one after another, each for one token (its prefill and the
// first token's delivery), measured as the raw prefill's 9 runs are.
static async Task<Run> FirstTokensAsync(ModelRepository repository, int[] prompt)
{
    using var lease = repository.Acquire("decoder");
    var engine = lease.Model.Generative!.Engine;
    var parameters = new SamplingParameters { Temperature = 0, MaxTokens = 1, IgnoreEos = true };
    var times = new List<double>();
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var start = Stopwatch.GetTimestamp();
    for (var i = 0; i < 9; i++)
    {
        var t0 = Stopwatch.GetTimestamp();
        var first = double.NaN;
        await foreach (var chunk in engine.Generate(prompt, parameters, CancellationToken.None))
        {
            first = double.IsNaN(first) ? Stopwatch.GetElapsedTime(t0).TotalMilliseconds : first;
        }

        times.Add(first);
    }

    times.Sort();
    return new Run(0, Stopwatch.GetElapsedTime(start).TotalSeconds, times[4], double.NaN, double.NaN, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
}

static async Task<LongRun> LongPromptAsync(ModelRepository repository, string name, int[][] prompts, int[] joining, int tokens)
{
    using var lease = repository.Acquire(name);
    var engine = lease.Model.Generative!.Engine;
    var parameters = new SamplingParameters { Temperature = 0, MaxTokens = tokens, IgnoreEos = true };
    var recorder = new Recorder();
    var eighth = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    var running = prompts.Select(async prompt =>
    {
        var stream = recorder.Stream();
        await foreach (var chunk in engine.Generate(prompt, parameters, CancellationToken.None))
        {
            stream.Token();
            if (stream.Times.Count == 8)
            {
                eighth.TrySetResult();
            }
        }

        return stream;
    }).ToList();
    await eighth.Task;
    var sent = Stopwatch.GetTimestamp();
    double ttft = double.NaN;
    await foreach (var chunk in engine.Generate(joining, parameters with { MaxTokens = 8 }, CancellationToken.None))
    {
        if (double.IsNaN(ttft))
        {
            ttft = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
        }
    }

    var streams = await Task.WhenAll(running);
    var gaps = streams.SelectMany(s => s.Times.Zip(s.Times.Skip(1), (a, b) => b - a)).Order().ToArray();
    return new LongRun(gaps[^1], gaps[Math.Max(0, (int)Math.Ceiling(0.99 * gaps.Length) - 1)], gaps[gaps.Length / 2], ttft);
}

static async Task<Run> PeerAsync(Model model, int[][] prompts, int tokens, int rounds = 1)
{
    var recorder = new Recorder();
    for (var round = 0; round < rounds; round++)
    {
        recorder.NextRound();
        await RoundAsync();
    }

    return recorder.Done();

    Task RoundAsync() => Task.WhenAll(prompts.Select(prompt => Task.Run(() =>
    {
        var stream = recorder.Stream();
        using var parameters = new GeneratorParams(model);
        parameters.SetSearchOption("max_length", prompt.Length + tokens);
        parameters.SetSearchOption("min_length", prompt.Length + tokens);
        parameters.SetSearchOption("do_sample", false);
        using var generator = new Generator(model, parameters);
        generator.AppendTokens(prompt);
        while (!generator.IsDone())
        {
            generator.GenerateNextToken();
            stream.Token();
        }
    })));
}

static Run Prefill(ModelRepository repository, int[] prompt)
{
    using var lease = repository.Acquire("decoder");
    var model = lease.Model;
    var decoder = model.Generative!.Engine.Decoder;
    var n = prompt.Length;
    var inputs = new List<NamedTensor>
    {
        new(decoder.Names.InputIds, Tensor.Create(prompt.Select(t => (long)t).ToArray(), 1, n)),
        new(decoder.Names.AttentionMask, Tensor.Create(Enumerable.Repeat(1L, n).ToArray(), 1, n)),
        new(decoder.Names.PositionIds, Tensor.Create(Enumerable.Range(0, n).Select(i => (long)i).ToArray(), 1, n)),
    };
    inputs.AddRange(decoder.PastNames.Select(name => new NamedTensor(name, Tensor.Create(Array.Empty<float>(), 1, decoder.Heads, 0, decoder.HeadDim))));
    model.Instance.Run(inputs, decoder.OutputNames, CancellationToken.None);
    var times = new List<double>();
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var start = Stopwatch.GetTimestamp();
    for (var i = 0; i < 9; i++)
    {
        var t0 = Stopwatch.GetTimestamp();
        model.Instance.Run(inputs, decoder.OutputNames, CancellationToken.None);
        times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
    }

    times.Sort();
    return new Run(0, Stopwatch.GetElapsedTime(start).TotalSeconds, times[4], double.NaN, double.NaN, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
}

internal sealed record LongRun(double MaxGapMs, double P99GapMs, double P50GapMs, double JoinTtftMs);

internal sealed record Run(int Tokens, double Seconds, double TtftP50Ms, double ItlP50Ms, double ItlP99Ms, double CpuSeconds);

/// <summary>Token arrival times per stream, from one shared start; CPU time of the process around the run.</summary>
internal sealed class Recorder
{
    private readonly long _start = Stopwatch.GetTimestamp();
    private readonly TimeSpan _cpu = Process.GetCurrentProcess().TotalProcessorTime;
    private readonly List<StreamTimes> _streams = [];
    private long _round = Stopwatch.GetTimestamp();

    /// <summary>Streams made from now on take their times from now (TTFT per round).</summary>
    public void NextRound() => _round = Stopwatch.GetTimestamp();

    public StreamTimes Stream()
    {
        var stream = new StreamTimes(_round);
        lock (_streams)
        {
            _streams.Add(stream);
        }

        return stream;
    }

    public Run Done()
    {
        var seconds = Stopwatch.GetElapsedTime(_start).TotalSeconds;
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - _cpu).TotalSeconds;
        var ttft = _streams.Where(s => s.Times.Count > 0).Select(s => s.Times[0]).Order().ToArray();
        var gaps = _streams.SelectMany(s => s.Times.Zip(s.Times.Skip(1), (a, b) => b - a)).Order().ToArray();
        static double Rank(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Max(0, (int)Math.Ceiling(p / 100 * sorted.Length) - 1)];
        return new Run(_streams.Sum(s => s.Times.Count), seconds, Rank(ttft, 50), Rank(gaps, 50), Rank(gaps, 99), cpu);
    }
}

internal sealed class StreamTimes(long start)
{
    public List<double> Times { get; } = [];

    public void Token() => Times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
}
