using Pronto.Core.Errors;
using Pronto.Core.Generation;
using Pronto.Core.Repository;
using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.Core.Tests.Generation;

/// <summary>
/// The decode loop on the tiny decoder through the repository: batching, sampling, stops, cancellation, limits. Steps
/// are ordered with the engine's BeforeStep hook (a gate the test opens), never with sleeps.
/// </summary>
public sealed class GenerationEngineTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    internal static readonly int[][] Prompts = [[72, 101, 108, 108, 111], [258, 32, 99], [84, 104, 105, 115, 32, 105, 115, 32, 97, 32, 116, 101, 115, 116]];
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-generate-").FullName;
    private readonly ModelRepository _repository;

    public GenerationEngineTests()
    {
        TinyDecoder.Write(_root, "tiny");
        TinyDecoder.Write(_root, "single", extraParameters: new Dictionary<string, string>
        {
            ["pronto.generative.max_running"] = "1",
            ["pronto.generative.max_waiting"] = "1",
        });
        TinyDecoder.Write(_root, "chunked", extraParameters: new Dictionary<string, string>
        {
            ["pronto.generative.max_step_tokens"] = "4",
        });
        TinyDecoder.Write(_root, "budget", extraParameters: new Dictionary<string, string>
        {
            ["pronto.generative.max_cache_tokens"] = "20",
        });
        _repository = new ModelRepository(_root, [new OnnxBackend()]);
        _repository.Load("tiny");
        _repository.Load("single");
        _repository.Load("chunked");
        _repository.Load("budget");
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

    private static async Task<Result> Collect(IAsyncEnumerable<GenerationChunk> stream)
    {
        var tokens = new List<int>();
        var text = new System.Text.StringBuilder();
        FinishReason? finish = null;
        await foreach (var chunk in stream.WithCancellation(CancellationToken.None))
        {
            Assert.Null(finish);
            tokens.Add(chunk.TokenId);
            text.Append(chunk.Text);
            finish = chunk.Finish;
        }

        return new Result(tokens, text.ToString(), finish);
    }

    [Fact]
    public void A_generative_version_loads_with_its_tokenizer_and_settings_and_unloads()
    {
        var model = Model("tiny");
        Assert.Equal(TinyDecoder.ContextLength, model.ContextLength);
        Assert.Equal(TinyDecoder.VocabSize, model.Engine.VocabSize);
        Assert.Equal(GenerativeModel.DefaultMaxRunning, model.Engine.MaxRunning);
        Assert.Null(model.ChatTemplate.Unsupported);
        Assert.Equal(1, Model("single").Engine.MaxRunning);
        Assert.Contains(_repository.Index(), s => s.Name == "tiny" && s.State == ModelState.Ready);

        _repository.Unload("tiny");
        Assert.Equal(ErrorCode.Unavailable, Assert.Throws<ProntoException>(() => _repository.Acquire("tiny")).Code);
    }

    [Fact]
    public async Task Greedy_tokens_are_identical_batched_and_one_at_a_time()
    {
        var engine = Model("tiny").Engine;
        var alone = new List<Result>();
        foreach (var prompt in Prompts)
        {
            alone.Add(await Collect(engine.Generate(prompt, Greedy(12), CancellationToken.None)).WaitAsync(Guard));
        }

        Assert.Equal(1, engine.LargestBatch);
        var gate = new StepGate();
        engine.BeforeStep = gate.Hook;
        var first = engine.Generate(Prompts[0], Greedy(12), CancellationToken.None);
        await gate.Reached.WaitAsync(Guard);
        var others = Prompts[1..].Select(p => engine.Generate(p, Greedy(12), CancellationToken.None)).ToList();
        Assert.Equal(3, engine.Waiting);
        gate.Open();
        var batched = await Task.WhenAll(new[] { first }.Concat(others).Select(Collect)).WaitAsync(Guard);

        Assert.Equal(3, engine.LargestBatch);

        // 11 steps per run (the first token comes from the prefill); only a run's first step, where its batch formed,
        // rebuilt the padded past: the other steps fed the previous present outputs back.
        Assert.Equal((44, 4), (engine.Steps, engine.CacheRebuilds));
        for (var i = 0; i < Prompts.Length; i++)
        {
            Assert.Equal(12, alone[i].Tokens.Count);
            Assert.Equal(FinishReason.Length, alone[i].Finish);
            Assert.Equal(alone[i].Tokens, batched[i].Tokens);
            Assert.Equal(alone[i].Text, batched[i].Text);
        }

        // Different prompts give different continuations: the comparison above is not of three copies.
        Assert.NotEqual(alone[0].Tokens, alone[1].Tokens);
        Assert.Equal(0, engine.Running);
    }

    [Fact]
    public async Task An_instance_that_cannot_write_outputs_in_place_gives_the_same_tokens_from_plain_runs()
    {
        // The engine writes logits and caches in place where the backend can (ONNX Runtime's pre-allocated outputs);
        // over any other instance each run allocates its outputs. Both paths give the same tokens, alone and batched.
        using var lease = _repository.Acquire("tiny");
        var tiny = lease.Model.Generative!;
        Assert.IsAssignableFrom<Pronto.Core.Backends.IRunIntoOutputs>(lease.Model.Instance);
        using var plain = new GenerationEngine("plain", new PlainRuns(lease.Model.Instance), tiny.Engine.Decoder, tiny.Tokenizer, new HashSet<int>(), TinyDecoder.ContextLength, maxRunning: 8, maxWaiting: 8);
        var gate = new StepGate();
        plain.BeforeStep = gate.Hook;
        var first = plain.Generate(Prompts[0], Greedy(12), CancellationToken.None);
        var collecting = Collect(first);
        await gate.Reached.WaitAsync(Guard);
        var others = Prompts[1..].Select(p => Collect(plain.Generate(p, Greedy(12), CancellationToken.None))).ToList();
        gate.Open();
        var batched = await Task.WhenAll(new[] { collecting }.Concat(others)).WaitAsync(Guard);
        Assert.Equal(3, plain.LargestBatch);
        for (var i = 0; i < Prompts.Length; i++)
        {
            var alone = await Collect(tiny.Engine.Generate(Prompts[i], Greedy(12), CancellationToken.None)).WaitAsync(Guard);
            Assert.Equal(alone.Tokens, batched[i].Tokens);
        }
    }

    [Fact]
    public async Task Each_sequence_s_first_chunk_carries_its_time_in_the_queue_on_the_engine_s_clock()
    {
        // One sequence at a time: the second waits while the first runs. The clock moves only when the test moves it:
        // 250 ms while the loop is held before its first iteration, then 10 ms at the start of every later iteration.
        using var lease = _repository.Acquire("tiny");
        var tiny = lease.Model.Generative!;
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        using var engine = new GenerationEngine("clocked", lease.Model.Instance, tiny.Engine.Decoder, tiny.Tokenizer, new HashSet<int>(), TinyDecoder.ContextLength, maxRunning: 1, maxWaiting: 8, time: time);
        var gate = new StepGate { OnStep = call => time.Advance(TimeSpan.FromMilliseconds(call > 1 ? 10 : 0)) };
        engine.BeforeStep = gate.Hook;
        var first = engine.Generate(Prompts[0], Greedy(3), CancellationToken.None).ToListAsync().AsTask();
        await gate.Reached.WaitAsync(Guard);
        var second = engine.Generate(Prompts[1], Greedy(3), CancellationToken.None).ToListAsync().AsTask();
        time.Advance(TimeSpan.FromMilliseconds(250));
        gate.Open();
        var chunks = await Task.WhenAll(first, second).WaitAsync(Guard);

        // The first joined on iteration 1 (prefill and a step: tokens 1 and 2), finished on iteration 2, and the
        // second joined on iteration 3: 250 ms, then 250 + 2 x 10 ms. Only first chunks carry it.
        Assert.Equal(TimeSpan.FromMilliseconds(250), chunks[0][0].QueueTime);
        Assert.Equal(TimeSpan.FromMilliseconds(270), chunks[1][0].QueueTime);
        Assert.All(chunks.SelectMany(c => c.Skip(1)), c => Assert.Null(c.QueueTime));
        Assert.Equal([3, 3], chunks.Select(c => c.Count));
    }

    /// <summary>An instance with only <see cref="Pronto.Core.Backends.IModelInstance.Run"/>.</summary>
    private sealed class PlainRuns(Pronto.Core.Backends.IModelInstance inner) : Pronto.Core.Backends.IModelInstance
    {
        public IReadOnlyList<Pronto.Core.Inference.NamedTensor> Run(IReadOnlyList<Pronto.Core.Inference.NamedTensor> inputs, IReadOnlyList<string> outputNames, CancellationToken cancellationToken) =>
            inner.Run(inputs, outputNames, cancellationToken);

        public void Dispose()
        {
        }
    }

    [Fact]
    public async Task Sequences_leaving_the_batch_leave_their_neighbours_tokens_unchanged()
    {
        var engine = Model("tiny").Engine;
        var alone = new List<Result>();
        foreach (var prompt in Prompts)
        {
            alone.Add(await Collect(engine.Generate(prompt, Greedy(12), CancellationToken.None)).WaitAsync(Guard));
        }

        var (steps, rebuilds) = (engine.Steps, engine.CacheRebuilds);
        int[] lengths = [5, 12, 8];
        var gate = new StepGate();
        engine.BeforeStep = gate.Hook;
        var first = engine.Generate(Prompts[0], Greedy(lengths[0]), CancellationToken.None);
        await gate.Reached.WaitAsync(Guard);
        var others = Enumerable.Range(1, 2).Select(i => engine.Generate(Prompts[i], Greedy(lengths[i]), CancellationToken.None)).ToList();
        gate.Open();
        var batched = await Task.WhenAll(new[] { first }.Concat(others).Select(Collect)).WaitAsync(Guard);

        for (var i = 0; i < Prompts.Length; i++)
        {
            Assert.Equal(alone[i].Tokens.Take(lengths[i]), batched[i].Tokens);
        }

        // 11 steps; the padded past was rebuilt where the batch formed and after each leave (after steps 4 and 7).
        Assert.Equal((11, 3), (engine.Steps - steps, engine.CacheRebuilds - rebuilds));
    }

    [Fact]
    public async Task A_prompt_past_the_step_budget_is_prefilled_in_chunks_between_the_running_streams_steps()
    {
        var tiny = Model("tiny").Engine;
        var shortAlone = await Collect(tiny.Generate(Prompts[1], Greedy(30), CancellationToken.None)).WaitAsync(Guard);
        var longAlone = await Collect(tiny.Generate(Prompts[2], Greedy(12), CancellationToken.None)).WaitAsync(Guard);

        var engine = Model("chunked").Engine;
        Assert.Equal(4, engine.MaxStepTokens);
        var seen = new List<(long Chunks, long Steps)>();
        var gate = new StepGate { OnStep = _ => seen.Add((engine.PrefillChunks, engine.Steps)) };
        engine.BeforeStep = gate.Hook;
        var running = engine.Generate(Prompts[1], Greedy(30), CancellationToken.None);
        await gate.Reached.WaitAsync(Guard);
        var joining = engine.Generate(Prompts[2], Greedy(12), CancellationToken.None);
        gate.Open();
        var results = await Task.WhenAll(Collect(running), Collect(joining)).WaitAsync(Guard);

        // Iteration 1 prefills the 3-token prompt whole and 1 token of the 14-token one (4 in all); each later iteration
        // runs the running stream's decode token and 3 more prompt tokens, until the prompt is in (chunks 1+3+3+3+3+1).
        Assert.Equal([(0, 0), (2, 1), (3, 2), (4, 3), (5, 4), (6, 5), (7, 6), (7, 7)], seen.Take(8));
        Assert.Equal(2, engine.LargestBatch);

        // Chunks give the tokens the whole prompt gives.
        Assert.Equal(shortAlone.Tokens, results[0].Tokens);
        Assert.Equal(longAlone.Tokens, results[1].Tokens);
    }

    [Fact]
    public async Task Seeded_sampling_is_reproducible_alone_and_in_a_batch()
    {
        var engine = Model("tiny").Engine;
        SamplingParameters Sampled(ulong seed) => new() { Temperature = 1f, TopP = 0.95f, TopK = 100, Seed = seed, MaxTokens = 16, IgnoreEos = true };
        var a = await Collect(engine.Generate(Prompts[0], Sampled(42), CancellationToken.None)).WaitAsync(Guard);
        var b = await Collect(engine.Generate(Prompts[0], Sampled(42), CancellationToken.None)).WaitAsync(Guard);
        var other = await Collect(engine.Generate(Prompts[0], Sampled(43), CancellationToken.None)).WaitAsync(Guard);
        var greedy = await Collect(engine.Generate(Prompts[0], Greedy(16), CancellationToken.None)).WaitAsync(Guard);
        Assert.Equal(a.Tokens, b.Tokens);
        Assert.NotEqual(a.Tokens, other.Tokens);
        Assert.NotEqual(a.Tokens, greedy.Tokens);

        var gate = new StepGate();
        engine.BeforeStep = gate.Hook;
        var seeded = engine.Generate(Prompts[0], Sampled(42), CancellationToken.None);
        await gate.Reached.WaitAsync(Guard);
        var neighbour = engine.Generate(Prompts[2], Sampled(7), CancellationToken.None);
        gate.Open();
        var results = await Task.WhenAll(Collect(seeded), Collect(neighbour)).WaitAsync(Guard);
        Assert.Equal(2, engine.LargestBatch);
        Assert.Equal(a.Tokens, results[0].Tokens);
    }

    [Fact]
    public async Task A_stop_string_cuts_the_text_just_before_it_streamed_or_not()
    {
        var engine = Model("tiny").Engine;
        var full = await Collect(engine.Generate(Prompts[1], Greedy(24), CancellationToken.None)).WaitAsync(Guard);
        // Random weights write arbitrary bytes, some of them invalid UTF-8 (U+FFFD): the stop string avoids those.
        var start = Enumerable.Range(4, full.Text.Length - 6).First(k => !full.Text.AsSpan(k, 2).Contains('\uFFFD'));
        var stop = full.Text.Substring(start, 2);
        var expected = full.Text[..full.Text.IndexOf(stop, StringComparison.Ordinal)];

        var chunks = new List<string>();
        Result? stopped = null;
        var tokens = new List<int>();
        await foreach (var chunk in engine.Generate(Prompts[1], Greedy(24) with { Stop = ["\u0001never", stop] }, CancellationToken.None))
        {
            chunks.Add(chunk.Text);
            tokens.Add(chunk.TokenId);
            if (chunk.Finish is { } finish)
            {
                stopped = new Result(tokens, string.Concat(chunks), finish);
            }
        }

        Assert.NotNull(stopped);
        Assert.Equal(expected, stopped.Text);
        Assert.Equal(FinishReason.Stop, stopped.Finish);
        Assert.True(stopped.Tokens.Count < full.Tokens.Count, $"stopped after {stopped.Tokens.Count} of {full.Tokens.Count} tokens");
        Assert.Equal(full.Tokens[..stopped.Tokens.Count], stopped.Tokens);
    }

    [Fact]
    public async Task A_stop_token_id_ends_the_sequence_and_stays_out_of_the_text()
    {
        var engine = Model("tiny").Engine;
        var full = await Collect(engine.Generate(Prompts[0], Greedy(12), CancellationToken.None)).WaitAsync(Guard);
        var stopToken = full.Tokens[5];
        var cut = full.Tokens.IndexOf(stopToken);
        var stopped = await Collect(engine.Generate(Prompts[0], Greedy(12) with { StopTokenIds = [stopToken] }, CancellationToken.None)).WaitAsync(Guard);
        Assert.Equal(full.Tokens[..(cut + 1)], stopped.Tokens);
        Assert.Equal(FinishReason.Stop, stopped.Finish);
        Assert.Equal(Model("tiny").Tokenizer.Decode(full.Tokens[..cut]), stopped.Text);
    }

    [Fact]
    public async Task Min_tokens_keeps_stop_token_ids_and_stop_strings_from_ending_the_sequence_before_it()
    {
        var engine = Model("tiny").Engine;
        var full = await Collect(engine.Generate(Prompts[0], Greedy(12), CancellationToken.None)).WaitAsync(Guard);
        var first = full.Tokens[0];
        var early = await Collect(engine.Generate(Prompts[0], Greedy(12) with { StopTokenIds = [first] }, CancellationToken.None)).WaitAsync(Guard);
        Assert.Equal([first], early.Tokens);

        var held = await Collect(engine.Generate(Prompts[0], Greedy(12) with { StopTokenIds = [first], MinTokens = 3 }, CancellationToken.None)).WaitAsync(Guard);
        Assert.True(held.Tokens.Count >= 3, $"{held.Tokens.Count} tokens");
        Assert.DoesNotContain(first, held.Tokens.Take(3));
        Assert.Equal(held.Tokens.Count < 12 ? FinishReason.Stop : FinishReason.Length, held.Finish);
        Assert.Equal(held.Tokens.Count < 12 ? first : held.Tokens[^1], held.Tokens[^1]);

        // A stop string that occurs once, early: min_tokens = max_tokens lets the whole text through.
        var text = (await Collect(engine.Generate(Prompts[1], Greedy(24), CancellationToken.None)).WaitAsync(Guard));
        var start = Enumerable.Range(4, text.Text.Length - 12).First(k => !text.Text.AsSpan(k, 2).Contains('\uFFFD')
            && text.Text.IndexOf(text.Text.Substring(k, 2), StringComparison.Ordinal) == k && text.Text.LastIndexOf(text.Text.Substring(k, 2), StringComparison.Ordinal) == k);
        var stop = text.Text.Substring(start, 2);
        var cut = await Collect(engine.Generate(Prompts[1], Greedy(24) with { Stop = [stop] }, CancellationToken.None)).WaitAsync(Guard);
        Assert.Equal(text.Text[..start], cut.Text);
        var through = await Collect(engine.Generate(Prompts[1], Greedy(24) with { Stop = [stop], MinTokens = 24 }, CancellationToken.None)).WaitAsync(Guard);
        Assert.Equal(text.Tokens, through.Tokens);
        Assert.Equal(text.Text, through.Text);
        Assert.Equal(FinishReason.Length, through.Finish);
    }

    /// <summary>The tiny decoder's logits [ids, vocab] for <paramref name="ids"/> in one run, no cache.</summary>
    private float[] FullRerunLogits(long[] ids)
    {
        var path = Path.Combine(_root, "tiny", "1", "model.onnx");
        var backend = new OnnxBackend();
        using var instance = backend.Load(backend.DeriveConfig("tiny", path), path, CancellationToken.None);
        var inputs = new List<Pronto.Core.Inference.NamedTensor>
        {
            new("input_ids", Pronto.Core.Tensors.Tensor.Create(ids, 1, ids.Length)),
            new("attention_mask", Pronto.Core.Tensors.Tensor.Create(Enumerable.Repeat(1L, ids.Length).ToArray(), 1, ids.Length)),
            new("position_ids", Pronto.Core.Tensors.Tensor.Create(Enumerable.Range(0, ids.Length).Select(p => (long)p).ToArray(), 1, ids.Length)),
        };
        for (var i = 0; i < TinyDecoder.Layers; i++)
        {
            inputs.Add(new(TinyDecoder.PastKey(i), Pronto.Core.Tensors.Tensor.Create(Array.Empty<float>(), 1, TinyDecoder.Heads, 0, TinyDecoder.HeadDim)));
            inputs.Add(new(TinyDecoder.PastValue(i), Pronto.Core.Tensors.Tensor.Create(Array.Empty<float>(), 1, TinyDecoder.Heads, 0, TinyDecoder.HeadDim)));
        }

        return instance.Run(inputs, ["logits"], CancellationToken.None)[0].Tensor.ToArray<float>();
    }

    [Fact]
    public async Task Prompt_logprobs_are_each_prompt_token_s_log_softmax_given_the_ones_before_also_when_prefilled_in_chunks()
    {
        var prompt = Prompts[2];
        var logits = FullRerunLogits([.. prompt.Select(t => (long)t)]);
        var parameters = Greedy(3) with { PromptLogprobs = 2 };
        foreach (var name in new[] { "tiny", "chunked" })
        {
            var engine = Model(name).Engine;
            var chunks = new List<GenerationChunk>();
            await foreach (var chunk in engine.Generate(prompt, parameters, CancellationToken.None))
            {
                chunks.Add(chunk);
            }

            var reported = chunks[0].PromptLogprobs!;
            Assert.Equal(prompt.Length - 1, reported.Count);
            Assert.All(chunks.Skip(1), c => Assert.Null(c.PromptLogprobs));
            for (var j = 0; j < reported.Count; j++)
            {
                var row = logits.AsSpan(j * TinyDecoder.VocabSize, TinyDecoder.VocabSize).ToArray();
                var max = row.Max();
                var logSum = max + Math.Log(row.Sum(l => Math.Exp(l - max)));
                Assert.Equal(row[prompt[j + 1]] - logSum, reported[j].Logprob, 1e-5);
                Assert.Equal(Enumerable.Range(0, row.Length).OrderByDescending(i => row[i]).ThenBy(i => i).Take(2), reported[j].Top.Select(t => t.TokenId));
            }
        }

        Assert.True(Model("chunked").Engine.PrefillChunks >= 4);
        await foreach (var chunk in Model("tiny").Engine.Generate(prompt, Greedy(2), CancellationToken.None))
        {
            Assert.Null(chunk.PromptLogprobs);
        }
    }

    [Fact]
    public async Task Logprobs_are_the_log_softmax_of_a_full_rerun_s_raw_logits_with_the_most_likely_alternatives()
    {
        var engine = Model("tiny").Engine;
        var prompt = Prompts[2];
        var chunks = new List<GenerationChunk>();
        var parameters = new SamplingParameters { Temperature = 0.7f, Seed = 5, MaxTokens = 8, IgnoreEos = true, Logprobs = 3, RepetitionPenalty = 1.4f };
        await foreach (var chunk in engine.Generate(prompt, parameters, CancellationToken.None))
        {
            chunks.Add(chunk);
        }

        var logits = FullRerunLogits([.. prompt, .. chunks.SkipLast(1).Select(c => (long)c.TokenId)]);
        for (var j = 0; j < chunks.Count; j++)
        {
            var row = logits.AsSpan((prompt.Length - 1 + j) * TinyDecoder.VocabSize, TinyDecoder.VocabSize).ToArray();
            var max = row.Max();
            var logSum = max + Math.Log(row.Sum(l => Math.Exp(l - max)));
            var reported = chunks[j].Logprobs!;
            Assert.Equal(row[chunks[j].TokenId] - logSum, reported.Logprob, 1e-5);
            var top = Enumerable.Range(0, row.Length).OrderByDescending(i => row[i]).ThenBy(i => i).Take(3).ToArray();
            Assert.Equal(top, reported.Top.Select(t => t.TokenId));
            for (var k = 0; k < 3; k++)
            {
                Assert.Equal(row[top[k]] - logSum, reported.Top[k].Logprob, 1e-5);
            }
        }

        // Without the parameter the chunks carry none.
        await foreach (var chunk in engine.Generate(prompt, Greedy(2), CancellationToken.None))
        {
            Assert.Null(chunk.Logprobs);
        }
    }

    [Fact]
    public async Task Cached_tokens_count_the_running_sequences_kv_cache_between_steps()
    {
        var engine = Model("tiny").Engine;
        var seen = new List<(int Running, long Cached)>();
        engine.BeforeStep = _ =>
        {
            seen.Add((engine.Running, engine.CachedTokens));
            return ValueTask.CompletedTask;
        };
        var result = await Collect(engine.Generate(Prompts[2], Greedy(5), CancellationToken.None)).WaitAsync(Guard);
        engine.BeforeStep = null;

        // Step 1 (after the prefill's token) to step 4: prompt + 1 .. prompt + 3 tokens cached before steps 2-4.
        var p = Prompts[2].Length;
        Assert.Equal(5, result.Tokens.Count);
        Assert.Equal([(0, 0L), (1, p + 1L), (1, p + 2L), (1, p + 3L)], seen);
        Assert.Equal(0, engine.CachedTokens);
        Assert.Equal(2L * TinyDecoder.Layers * TinyDecoder.Heads * TinyDecoder.HeadDim * sizeof(float), engine.CacheBytesPerToken);
    }

    [Fact]
    public async Task A_sequence_that_ends_at_its_first_token_completes_its_stream()
    {
        var engine = Model("tiny").Engine;
        var first = (await Collect(engine.Generate(Prompts[0], Greedy(1), CancellationToken.None)).WaitAsync(Guard)).Tokens[0];

        // The first token is a stop token (as an end-of-sequence token would be), then max_tokens 1: both end at the prefill.
        var stopped = await Collect(engine.Generate(Prompts[0], Greedy(8) with { StopTokenIds = [first] }, CancellationToken.None)).WaitAsync(Guard);
        var single = await Collect(engine.Generate(Prompts[0], Greedy(1), CancellationToken.None)).WaitAsync(Guard);
        Assert.Equal([first], stopped.Tokens);
        Assert.Equal(FinishReason.Stop, stopped.Finish);
        Assert.Equal(string.Empty, stopped.Text);
        Assert.Equal([first], single.Tokens);
        Assert.Equal(FinishReason.Length, single.Finish);
        Assert.Equal(0, engine.Running);
        Assert.Equal(0, engine.Steps);
    }

    [Fact]
    public async Task A_cancelled_request_leaves_the_batch_at_the_next_step_and_the_others_run_on()
    {
        var engine = Model("tiny").Engine;
        using var cancel = new CancellationTokenSource();
        var runningAtStep = new List<int>();
        var gate = new StepGate
        {
            OnStep = call =>
            {
                runningAtStep.Add(engine.Running);
                if (call == 4)
                {
                    cancel.Cancel();
                }
            },
        };
        engine.BeforeStep = gate.Hook;
        var cancelled = engine.Generate(Prompts[0], Greedy(40), cancel.Token);
        await gate.Reached.WaitAsync(Guard);
        var survivor = engine.Generate(Prompts[1], Greedy(10), CancellationToken.None);
        gate.Open();

        var received = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var chunk in cancelled.WithCancellation(CancellationToken.None))
            {
                received++;
            }
        }).WaitAsync(Guard);
        var rest = await Collect(survivor).WaitAsync(Guard);

        // Prefill plus steps 1-3 gave the cancelled sequence 4 tokens; from call 5 on only the survivor runs.
        Assert.Equal(4, received);
        Assert.Equal([0, 2, 2, 2, 1], runningAtStep.Take(5));
        Assert.Equal(10, rest.Tokens.Count);
        Assert.Equal(0, engine.Running);
    }

    [Fact]
    public async Task Max_running_bounds_the_batch_and_the_rest_wait_their_turn()
    {
        var tiny = Model("tiny").Engine;
        var alone = await Collect(tiny.Generate(Prompts[2], Greedy(6), CancellationToken.None)).WaitAsync(Guard);

        var engine = Model("single").Engine;
        var gate = new StepGate();
        engine.BeforeStep = gate.Hook;
        var first = engine.Generate(Prompts[0], Greedy(6), CancellationToken.None);
        await gate.Reached.WaitAsync(Guard);

        // max_waiting 1: the queue holds the first request until the loop admits it, so a second is refused.
        var refused = Assert.Throws<ProntoException>(() => engine.Generate(Prompts[1], Greedy(6), CancellationToken.None));
        Assert.Equal(ErrorCode.Unavailable, refused.Code);
        gate.Open();
        var firstResult = await Collect(first).WaitAsync(Guard);
        var second = await Collect(engine.Generate(Prompts[2], Greedy(6), CancellationToken.None)).WaitAsync(Guard);

        Assert.Equal(1, engine.LargestBatch);
        Assert.Equal(6, firstResult.Tokens.Count);
        Assert.Equal(alone.Tokens, second.Tokens);
    }

    [Fact]
    public async Task A_waiting_sequence_whose_caller_cancels_ends_its_stream_at_once()
    {
        var engine = Model("tiny").Engine;
        var gate = new StepGate();
        engine.BeforeStep = gate.Hook;
        var first = engine.Generate(Prompts[0], Greedy(6), CancellationToken.None);
        await gate.Reached.WaitAsync(Guard);
        using var cancel = new CancellationTokenSource();
        var waiting = engine.Generate(Prompts[1], Greedy(6), cancel.Token);
        Assert.Equal(2, engine.Waiting);

        // The loop is held before its first step admits anyone, so both are queued: the cancelled stream ends now, not
        // at admission; the loop drops it when it reaches it.
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Collect(waiting).WaitAsync(Guard));
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        engine.SequenceCancelled = () => cancelled.TrySetResult();
        gate.Open();
        Assert.Equal(6, (await Collect(first).WaitAsync(Guard)).Tokens.Count);
        await cancelled.Task.WaitAsync(Guard);
        Assert.Equal(0, engine.Waiting);
        Assert.Equal(1, engine.LargestBatch);
    }

    [Fact]
    public async Task A_cancelled_waiting_sequence_frees_its_queue_slot_at_once()
    {
        var engine = Model("single").Engine; // max_waiting 1
        var gate = new StepGate();
        engine.BeforeStep = gate.Hook;
        using var cancel = new CancellationTokenSource();
        var first = engine.Generate(Prompts[0], Greedy(6), cancel.Token);
        await gate.Reached.WaitAsync(Guard);
        Assert.Equal(1, engine.Waiting);
        var full = Assert.Throws<ProntoException>(() => engine.Generate(Prompts[1], Greedy(6), CancellationToken.None));
        Assert.Equal((ErrorCode.Unavailable, 1), (full.Code, full.RetryAfterSeconds));

        // The loop is held before admission, so the cancelled sequence is still in the channel: its slot is free anyway.
        cancel.Cancel();
        Assert.Equal(0, engine.Waiting);
        var next = engine.Generate(Prompts[1], Greedy(6), CancellationToken.None);
        Assert.Equal(1, engine.Waiting);
        gate.Open();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Collect(first).WaitAsync(Guard));
        Assert.Equal(6, (await Collect(next).WaitAsync(Guard)).Tokens.Count);
        Assert.Equal(0, engine.Waiting);
    }

    [Fact]
    public async Task A_batch_past_the_cache_budget_preempts_the_last_sequence_that_recomputes_its_cache_and_gives_the_same_tokens()
    {
        var tiny = Model("tiny").Engine;
        var alone = await Task.WhenAll(Collect(tiny.Generate(Prompts[0], Greedy(10), CancellationToken.None)), Collect(tiny.Generate(Prompts[1], Greedy(9), CancellationToken.None))).WaitAsync(Guard);
        var engine = Model("budget").Engine; // 20 cache tokens
        var refused = Assert.Throws<ProntoException>(() => engine.Generate(Prompts[2], Greedy(10), CancellationToken.None));
        Assert.Equal(ErrorCode.InvalidArgument, refused.Code);
        Assert.Equal("the prompt's 14 tokens and max_tokens 10 need 24 cache tokens; model 'budget' holds 20 at most (pronto.generative.max_cache_tokens): shorten the prompt or lower max_tokens", refused.Message);

        var seen = new List<(long Cached, int Waiting, long Preemptions)>();
        var gate = new StepGate { OnStep = _ => seen.Add((engine.CachedTokens, engine.Waiting, engine.Preemptions)) };
        engine.BeforeStep = gate.Hook;
        var first = engine.Generate(Prompts[0], Greedy(10), CancellationToken.None); // 5 + 10 = 15 at most
        await gate.Reached.WaitAsync(Guard);
        var second = engine.Generate(Prompts[1], Greedy(9), CancellationToken.None); // 3 + 9 = 12 at most: 27 > 20
        gate.Open();
        var results = await Task.WhenAll(Collect(first), Collect(second)).WaitAsync(Guard);

        Assert.Equal(alone[0].Tokens, results[0].Tokens);
        Assert.Equal(alone[1].Tokens, results[1].Tokens);
        Assert.Equal(alone[1].Text, results[1].Text);
        Assert.Equal(2, engine.LargestBatch);
        Assert.Equal(1, engine.Preemptions);
        Assert.Equal(8, engine.PromptTokens); // the recompute is not counted as prompt
        Assert.Equal(19, engine.GeneratedTokens);

        // Seen before each iteration: the first waits at the first; both join at once (5 + 1 and 3 + 1 tokens after their first step) and grow by
        // one token each per step; before the 7th, 11 + 1 and 9 + 1 would be 22 > 20, so the second (the last to join)
        // is preempted with 7 tokens generated and waits while the first, alone, holds 12 and 13 and finishes; then it
        // prefills its 3 + 6 tokens again and steps twice more.
        Assert.Equal(
            [(0L, 1, 0L), (10, 0, 0), (12, 0, 0), (14, 0, 0), (16, 0, 0), (18, 0, 0), (20, 0, 0), (12, 1, 1), (13, 1, 1), (0, 1, 1), (10, 0, 1)],
            seen);
        Assert.Equal((0L, 0), (engine.CachedTokens, engine.Waiting));
    }

    [Fact]
    public async Task A_preempted_sequence_whose_caller_cancels_leaves_the_queue_at_the_next_step()
    {
        var engine = Model("budget").Engine;
        using var cancel = new CancellationTokenSource();
        var waiting = new List<int>();
        var gate = new StepGate
        {
            OnStep = _ =>
            {
                waiting.Add(engine.Waiting);
                if (engine.Preemptions == 1 && !cancel.IsCancellationRequested)
                {
                    cancel.Cancel(); // on the loop, before the iteration's cancellation sweep
                }
            },
        };
        engine.BeforeStep = gate.Hook;
        var first = engine.Generate(Prompts[0], Greedy(10), CancellationToken.None);
        await gate.Reached.WaitAsync(Guard);
        var second = Collect(engine.Generate(Prompts[1], Greedy(9), cancel.Token));
        gate.Open();

        Assert.Equal(10, (await Collect(first).WaitAsync(Guard)).Tokens.Count);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second.WaitAsync(Guard));

        // Preempted at the 7th iteration (as above), counted as waiting at the 8th, whose sweep drops it; the first
        // finishes at the 9th.
        Assert.Equal([1, 0, 0, 0, 0, 0, 0, 1, 0], waiting);
        Assert.Equal((1L, 0), (engine.Preemptions, engine.Waiting));
    }

    [Fact]
    public void Bad_prompts_and_parameters_are_invalid_arguments_that_leave_the_engine_serving()
    {
        var engine = Model("tiny").Engine;
        ProntoException Refused(int[] prompt, SamplingParameters parameters) =>
            Assert.Throws<ProntoException>(() => engine.Generate(prompt, parameters, CancellationToken.None));

        Assert.Equal($"token id {TinyDecoder.VocabSize} is outside the vocabulary of model 'tiny' (0 to {TinyDecoder.VocabSize - 1})", Refused([1, TinyDecoder.VocabSize], Greedy(4)).Message);
        Assert.Equal("the prompt has 96 tokens; model 'tiny' reads 96 at most, so it must be shorter to leave room for one generated token", Refused(new int[96], Greedy(4)).Message);
        Assert.Equal("'max_tokens' must be at least 1, got 0", Refused([1], Greedy(0)).Message);
        Assert.Equal("'temperature' must be from 0 to 2, got -1", Refused([1], new SamplingParameters { Temperature = -1 }).Message);
        Assert.Equal("the prompt is empty: it must hold at least one token", Refused([], Greedy(4)).Message);
        Assert.All(new[] { Refused([-1], Greedy(1)) }, e => Assert.Equal(ErrorCode.InvalidArgument, e.Code));
        Assert.Equal(0, engine.Waiting);
    }

    [Fact]
    public async Task A_sequence_that_reaches_the_context_length_finishes_with_length()
    {
        var engine = Model("tiny").Engine;
        var prompt = Enumerable.Range(0, TinyDecoder.ContextLength - 3).Select(i => 97 + (i % 26)).ToArray();
        var result = await Collect(engine.Generate(prompt, Greedy(50), CancellationToken.None)).WaitAsync(Guard);
        Assert.Equal(3, result.Tokens.Count);
        Assert.Equal(FinishReason.Length, result.Finish);
    }

    private sealed record Result(List<int> Tokens, string Text, FinishReason? Finish);
}
