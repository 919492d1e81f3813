using System.Threading.Channels;
using Pronto.Core.Backends;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;

namespace Pronto.Core.Generation;

/// <summary>Why a sequence ended: <c>stop</c> (end-of-sequence token, stop token or stop string) or <c>length</c>.</summary>
public enum FinishReason
{
    Stop,
    Length,
}

/// <summary>
/// One generated token and the text it releases (possibly empty: see <see cref="StopStringTracker"/>);
/// <see cref="Finish"/> is set on the last chunk of a sequence; <see cref="Logprobs"/> when the sequence asked for them.
/// </summary>
public readonly record struct GenerationChunk(int TokenId, string Text, FinishReason? Finish, TokenLogprobs? Logprobs = null)
{
    /// <summary>
    /// On a sequence's first chunk when <see cref="SamplingParameters.PromptLogprobs"/> asked for them: for prompt
    /// tokens 1 to n - 1, each one's log-probability given the tokens before it (token 0 has none).
    /// </summary>
    public IReadOnlyList<TokenLogprobs>? PromptLogprobs { get; init; }

    /// <summary>
    /// On a sequence's first chunk: how long it waited in the queue, from <see cref="GenerationEngine.Generate"/> to
    /// the loop admitting it into the batch (vLLM's queue time), on the engine's clock.
    /// </summary>
    public TimeSpan? QueueTime { get; init; }
}

/// <summary>A candidate token and its log-probability.</summary>
public readonly record struct TokenLogprob(int TokenId, float Logprob);

/// <summary>
/// The log-probability of a generated token and the most likely alternatives, most likely first (lower id on a tie):
/// log-softmax of the model's raw logits, before penalties, temperature and truncation (vLLM's default, raw_logprobs).
/// </summary>
public sealed record TokenLogprobs(float Logprob, IReadOnlyList<TokenLogprob> Top)
{
    /// <summary>The token's rank among all ids by log-probability: 1 + the ids more likely than it (vLLM's rank).</summary>
    public int Rank { get; init; }
}

/// <summary>
/// Pronto's own decode loop over a decoder's ONNX session, with a KV cache and continuous batching. Sequences wait in a
/// bounded queue (<see cref="MaxWaiting"/>, then 503) and join the running batch between steps, up to
/// <see cref="MaxRunning"/>: each joins with its own prefill (batch 1), in chunks when its prompt is longer than what
/// the iteration's token budget leaves (<see cref="MaxStepTokens"/>), then every step runs one token of every running
/// sequence as one batch, each sequence's past keys and values left-padded to the longest past
/// with attention mask 0 (so a padded key gets zero weight and a sequence's logits do not depend on its neighbours),
/// and position ids counting its own tokens. A sequence leaves when it finishes or when its caller cancels (a client
/// that disconnects), at the next step boundary, and its cache goes with it. One loop task per model runs the steps;
/// it sleeps while nothing runs or waits.
/// </summary>
/// <remarks>
/// A step whose batch has the same sequences in the same order as the last step feeds the last step's present outputs
/// back as its past inputs (each sequence grew by one token, so the left padding still lines up): no cache is copied.
/// When a sequence joins or leaves, the staying sequences copy their own tokens out of the last present outputs
/// ([heads, length, head_dim] per layer) and the step's padded past is built from those (<see cref="CacheRebuilds"/>
/// counts such steps). ONNX Runtime writes each step's present whole (past plus one token), into buffers the engine
/// gives it. A GroupQueryAttention decoder instead decodes on a shared past/present buffer (<see cref="SharedCache"/>):
/// its rows are both the past input and the present output, and the operator appends each row's token in place.
/// Prompts that join together are prefilled one after another, each at batch 1.
/// </remarks>
public sealed class GenerationEngine : IDisposable
{
    private readonly string _model;
    private readonly IModelInstance _instance;
    private readonly DecoderSignature _decoder;
    private readonly GenerativeTokenizer _tokenizer;
    private readonly IReadOnlySet<int> _eos;
    private readonly Channel<Sequence> _queue;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private Task? _loop;
    private List<Sequence>? _runningView;
    private int _running;
    private long _cachedTokens;
    private long _steps;
    private int _largestBatch;
    private long _promptTokens;
    private long _generatedTokens;
    private long _cacheRebuilds;
    private long _prefillChunks;
    private int _waiting;
    private int _preemptedWaiting;

    // Preempted sequences (the loop's own), first to join again at the front: they wait ahead of the queue.
    private readonly List<Sequence> _preempted = [];
    private long _preemptions;

    // The last step's present outputs, one per past input: they are the next step's past inputs, padding and all, as
    // long as the batch keeps its members in the same order (the usual step), so such a step copies no cache at all.
    private Tensor[]? _batchPresent;
    private byte[] _logits = [];
    private readonly StepBuffers _stepBuffers;

    // GroupQueryAttention decoders: one cache buffer per past input, a row per running sequence, read and written in
    // place by every step (past and present are the same memory); null for the other decoders.
    private readonly SharedCache? _shared;
    private long _sharedSteps;

    // Bytes of one cache element (FP32 4, FP16 2); FP16 logits are widened into _logitsF32 for the sampler.
    private readonly int _element;
    private float[] _logitsF32 = [];

    /// <summary>Tokens of room a step's cache buffer is allocated with, so the next steps' growing caches reuse it.</summary>
    private const int StepBufferSlack = 32;
    private Sequence[] _batchMembers = [];

    public GenerationEngine(string model, IModelInstance instance, DecoderSignature decoder, GenerativeTokenizer tokenizer, IReadOnlySet<int> eosTokenIds, int contextLength, int maxRunning, int maxWaiting, int maxStepTokens = GenerativeModel.DefaultMaxStepTokens, int maxCacheTokens = 0, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxStepTokens, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxCacheTokens);
        _model = model;
        _time = time ?? TimeProvider.System;
        _instance = instance;
        _decoder = decoder;
        _tokenizer = tokenizer;
        _eos = eosTokenIds;
        ContextLength = contextLength;
        MaxRunning = maxRunning;
        MaxWaiting = maxWaiting;
        MaxStepTokens = maxStepTokens;
        MaxCacheTokens = maxCacheTokens > 0 ? maxCacheTokens : int.MaxValue;
        VocabSize = decoder.VocabSize > 0 ? (int)decoder.VocabSize : tokenizer.VocabSize;

        // One step's presents are rented while the last step's are still its past: two sets at most.
        _stepBuffers = new StepBuffers(2 * decoder.PastNames.Count);
        _element = decoder.CacheType.ElementSize();
        if (decoder.PadsRight && instance is IRunIntoOutputs && decoder.VocabSize > 0)
        {
            _shared = new SharedCache(decoder.PastNames.Count, maxRunning, decoder.Heads, decoder.HeadDim * _element, contextLength, decoder.CacheType, decoder.HeadDim);
        }
        // Unbounded: the bound is the count of sequences still waiting (_waiting), which a cancel lowers at once even
        // though the cancelled sequence stays in the channel until the loop reaches it.
        _queue = Channel.CreateUnbounded<Sequence>(new UnboundedChannelOptions { SingleReader = true });
    }

    /// <summary>Positions the model reads at most: prompt plus generated tokens.</summary>
    public int ContextLength { get; }

    /// <summary>Sequences decoded together at most (<c>pronto.generative.max_running</c>).</summary>
    public int MaxRunning { get; }

    /// <summary>Sequences queued at most before new ones are refused (<c>pronto.generative.max_waiting</c>).</summary>
    public int MaxWaiting { get; }

    /// <summary>
    /// Tokens one iteration of the loop runs at most (<c>pronto.generative.max_step_tokens</c>): one per running sequence's
    /// decode step, the rest prompt tokens of joining sequences, a long prompt in chunks over several iterations, so a
    /// prefill delays the running sequences by about a budget's worth of tokens at most. At least one prompt token
    /// runs per iteration, so a batch of <see cref="MaxRunning"/> past the budget still admits.
    /// </summary>
    public int MaxStepTokens { get; }

    /// <summary>
    /// The KV-memory budget in tokens (<c>pronto.generative.max_cache_tokens</c>; <see cref="CacheBytesPerToken"/> each;
    /// int.MaxValue when unset), taken on demand as vLLM does: a sequence joins while the tokens the batch will hold
    /// after this iteration's step (each running sequence's cache plus one, each joining one's prompt plus one) and its
    /// own fit; when the running sequences' growth no longer fits, the one that joined last is preempted: its cache is
    /// dropped, it goes back to the front of the queue and, once it fits again, prefills its prompt and the tokens it
    /// generated (recompute) and goes on where it stopped (<see cref="Preemptions"/>). One whose prompt plus max_tokens
    /// (capped at the context) could never fit is refused when it is queued, so a sequence alone always fits.
    /// </summary>
    public int MaxCacheTokens { get; }

    /// <summary>Running sequences preempted so far to keep the batch within <see cref="MaxCacheTokens"/> (vLLM's num_preemptions).</summary>
    public long Preemptions => Interlocked.Read(ref _preemptions);

    /// <summary>Prompt chunks run so far (a prompt within the step budget is one chunk).</summary>
    public long PrefillChunks => Interlocked.Read(ref _prefillChunks);

    /// <summary>Token ids the model accepts: 0 to VocabSize - 1.</summary>
    public int VocabSize { get; }

    /// <summary>Sequences in the running batch now.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>Tokens the running sequences' KV caches hold (prompt and generated tokens, as of the last step).</summary>
    public long CachedTokens => Volatile.Read(ref _cachedTokens);

    /// <summary>The decoder's tensors (names, layers, heads) the loop feeds and reads.</summary>
    public DecoderSignature Decoder => _decoder;

    /// <summary>Bytes of KV cache one token takes: keys and values of every layer, in the decoder's cache type (FP32 or FP16).</summary>
    public long CacheBytesPerToken => 2L * _decoder.Layers * _decoder.Heads * _decoder.HeadDim * _element;

    /// <summary>Sequences waiting to join the batch: queued ones and preempted ones.</summary>
    public int Waiting => Volatile.Read(ref _waiting) + Volatile.Read(ref _preemptedWaiting);

    /// <summary>Decode steps run so far (prefills not counted).</summary>
    public long Steps => Interlocked.Read(ref _steps);

    /// <summary>The most sequences one decode step has run.</summary>
    public int LargestBatch => Volatile.Read(ref _largestBatch);

    public long PromptTokens => Interlocked.Read(ref _promptTokens);

    public long GeneratedTokens => Interlocked.Read(ref _generatedTokens);

    /// <summary>
    /// Decode steps whose padded past was rebuilt from each sequence's own cache because the batch changed (a sequence
    /// joined or left); the other steps fed the previous step's present outputs back as they were.
    /// </summary>
    public long CacheRebuilds => Interlocked.Read(ref _cacheRebuilds);

    /// <summary>
    /// Decode steps that ran on the shared past/present buffer (GroupQueryAttention decoders: ONNX Runtime appends each
    /// row's token in place, so no step copies or rewrites the cache).
    /// </summary>
    public long SharedBufferSteps => Interlocked.Read(ref _sharedSteps);

    /// <summary>Test hook, for <see cref="BeforeStep"/> only: tokens per row of the shared buffer now (0 when none is held).</summary>
    internal int SharedCapacity => _shared?.Capacity ?? 0;

    /// <summary>Test hook: awaited by the loop before each step (admission, then one decode step).</summary>
    internal Func<CancellationToken, ValueTask>? BeforeStep { get; set; }

    /// <summary>Test hook: called on the loop when a cancelled sequence has left (the queue or the batch).</summary>
    internal Action? SequenceCancelled { get; set; }

    /// <summary>
    /// Test hook, for <see cref="BeforeStep"/> only (it runs on the loop): completes when the caller of a running
    /// sequence cancels, so a test can wait for a disconnect to reach the engine without polling.
    /// </summary>
    internal Task WhenAnyRunningCancelled()
    {
        var running = _runningView ?? [];
        return running.Count == 0
            ? Task.CompletedTask
            : Task.WhenAny(running.Select(s => Task.Delay(Timeout.Infinite, s.CancellationToken)));
    }

    /// <summary>
    /// Queues a sequence and returns its tokens as they come. The stream ends after the chunk with a finish reason;
    /// cancelling <paramref name="cancellationToken"/> takes the sequence out of the batch at the next step and ends
    /// the stream with <see cref="OperationCanceledException"/>. Throws InvalidArgument for a prompt that is empty,
    /// holds an id outside the vocabulary or leaves no room in the context, Unavailable when the queue is full.
    /// </summary>
    public IAsyncEnumerable<GenerationChunk> Generate(IReadOnlyList<int> prompt, SamplingParameters parameters, CancellationToken cancellationToken)
    {
        Validate(prompt, parameters);
        ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
        var sequence = new Sequence([.. prompt], parameters, _tokenizer, _eos, cancellationToken) { Queued = _time.GetTimestamp() };
        if (Interlocked.Increment(ref _waiting) > MaxWaiting)
        {
            Interlocked.Decrement(ref _waiting);
            throw new ProntoException(ErrorCode.Unavailable, $"model '{_model}' has {MaxWaiting} sequences waiting already; retry later") { RetryAfterSeconds = 1 };
        }

        if (!_queue.Writer.TryWrite(sequence))
        {
            Interlocked.Decrement(ref _waiting);
            throw new ObjectDisposedException(nameof(GenerationEngine));
        }

        // A caller that gives up while its sequence waits ends its stream and frees its queue slot at once; the loop
        // drops the sequence when it reaches it in the queue.
        sequence.Registration = cancellationToken.Register(static s =>
        {
            var (engine, waiting) = ((GenerationEngine, Sequence))s!;
            if (waiting.EndWhileWaiting())
            {
                Interlocked.Decrement(ref engine._waiting);
            }
        }, (this, sequence));
        EnsureLoop();
        return sequence.Output.Reader.ReadAllAsync(CancellationToken.None);
    }

    /// <summary>The checks <see cref="Generate"/> makes before it queues a sequence, for callers that queue several.</summary>
    public void Validate(IReadOnlyList<int> prompt, SamplingParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(parameters);
        parameters.Validate(VocabSize);
        if (prompt.Count == 0)
        {
            ProntoErrors.InvalidArgument("the prompt is empty: it must hold at least one token");
        }

        if (prompt.Count >= ContextLength)
        {
            ProntoErrors.InvalidArgument($"the prompt has {prompt.Count} tokens; model '{_model}' reads {ContextLength} at most, so it must be shorter to leave room for one generated token");
        }

        foreach (var id in prompt)
        {
            if (id < 0 || id >= VocabSize)
            {
                ProntoErrors.InvalidArgument($"token id {id} is outside the vocabulary of model '{_model}' (0 to {VocabSize - 1})");
            }
        }

        if (Reservation(prompt.Count, parameters) > MaxCacheTokens)
        {
            ProntoErrors.InvalidArgument($"the prompt's {prompt.Count} tokens and max_tokens {parameters.MaxTokens} need {Reservation(prompt.Count, parameters)} cache tokens; model '{_model}' holds {MaxCacheTokens} at most (pronto.generative.max_cache_tokens): shorten the prompt or lower max_tokens");
        }
    }

    /// <summary>The cache tokens a sequence may come to hold: prompt plus max_tokens, at most the context length.</summary>
    private int Reservation(int promptTokens, SamplingParameters parameters) => (int)Math.Min((long)promptTokens + parameters.MaxTokens, ContextLength);

    public void Dispose()
    {
        Task? loop;
        lock (_gate)
        {
            if (_stop.IsCancellationRequested)
            {
                return;
            }

            _stop.Cancel();
            _queue.Writer.TryComplete();
            loop = _loop;
        }

        loop?.GetAwaiter().GetResult();
        while (_queue.Reader.TryRead(out var waiting))
        {
            waiting.Fail(new ProntoException(ErrorCode.Unavailable, $"model '{_model}' was unloaded"));
        }

        _stop.Dispose();
    }

    private void EnsureLoop()
    {
        if (Volatile.Read(ref _loop) is not null)
        {
            return;
        }

        lock (_gate)
        {
            if (_loop is null && !_stop.IsCancellationRequested)
            {
                // A thread of its own, not the thread pool's: the loop keeps its thread for as long as sequences run,
                // and engines that held pool threads (one per instance_group instance) would leave none for the
                // readers of their streams (and the server's requests) until the pool added threads, ~0.5 s apart.
                // Not capturing the first caller's execution context (its Activity, its AsyncLocals).
                var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var thread = new Thread(() =>
                {
                    try
                    {
                        Loop();
                        done.SetResult();
                    }
                    catch (Exception e)
                    {
                        done.SetException(e);
                    }
                })
                {
                    IsBackground = true,
                    Name = "pronto decode",
                };
                Volatile.Write(ref _loop, done.Task);
                thread.UnsafeStart();
            }
        }
    }

    private void Loop()
    {
        var running = new List<Sequence>(MaxRunning);
        var prefilling = new List<Sequence>();
        var preempted = _preempted;
        _runningView = running;
        var token = _stop.Token;
        try
        {
            while (true)
            {
                if (running.Count == 0 && prefilling.Count == 0 && preempted.Count == 0 && !Wait(_queue.Reader.WaitToReadAsync(token)))
                {
                    break;
                }

                if (BeforeStep is { } hook)
                {
                    Wait(hook(token));
                }

                try
                {
                    foreach (var list in (List<Sequence>[])[preempted, prefilling, running])
                    {
                        for (var i = list.Count - 1; i >= 0; i--)
                        {
                            if (list[i].CancellationToken.IsCancellationRequested)
                            {
                                var cancelled = list[i];
                                list.RemoveAt(i);
                                Publish(running, prefilling);
                                cancelled.Cancel(this);
                            }
                        }
                    }

                    Preempt(running, prefilling, preempted);
                    Admit(running, prefilling, preempted);

                    PrefillWithinBudget(running, prefilling, token);
                    if (running.Count > 0)
                    {
                        Step(running, prefilling, token);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
                {
                    // A fault of Pronto's own (not the engine's run, handled in Step) fails the batch, never the loop:
                    // a dead loop would leave every later request of this model waiting forever.
                    foreach (var sequence in running.Concat(prefilling).Concat(preempted))
                    {
                        sequence.Fail(e);
                    }

                    running.Clear();
                    prefilling.Clear();
                    preempted.Clear();
                    DropBatch();
                    Publish(running, prefilling);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }

        foreach (var sequence in running.Concat(prefilling).Concat(preempted))
        {
            sequence.Fail(new ProntoException(ErrorCode.Unavailable, $"model '{_model}' was unloaded"));
        }

        running.Clear();
        prefilling.Clear();
        preempted.Clear();
        Publish(running, prefilling);
    }

    /// <summary>The loop's thread waits (idle, or in a test's hook) until the task completes.</summary>
    private static T Wait<T>(ValueTask<T> task) => task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();

    private static void Wait(ValueTask task)
    {
        if (!task.IsCompletedSuccessfully)
        {
            task.AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// The cache tokens the batch holds once this iteration's step has run: each running sequence's cache plus its next
    /// token, each joining sequence's prefill plus its first generated token.
    /// </summary>
    private static long CacheNeeded(List<Sequence> running, List<Sequence> prefilling)
    {
        long needed = 0;
        foreach (var s in running)
        {
            needed += s.Length + 1;
        }

        foreach (var s in prefilling)
        {
            needed += s.Tokens.Length + 1;
        }

        return needed;
    }

    /// <summary>
    /// While the batch's next step would hold more than <see cref="MaxCacheTokens"/>, preempts the sequence that joined
    /// last (a joining one before a running one): its cache goes, and it waits at the front of the queue to prefill its
    /// prompt and generated tokens again. The oldest stays: a sequence alone always fits (<see cref="Validate"/>).
    /// </summary>
    private void Preempt(List<Sequence> running, List<Sequence> prefilling, List<Sequence> preempted)
    {
        var needed = CacheNeeded(running, prefilling);
        while (needed > MaxCacheTokens && running.Count + prefilling.Count > 1)
        {
            var list = prefilling.Count > 0 ? prefilling : running;
            var victim = list[^1];
            list.RemoveAt(list.Count - 1);
            needed -= (list == prefilling ? victim.Tokens.Length : victim.Length) + 1;
            victim.Preempt();
            preempted.Insert(0, victim);
            Interlocked.Increment(ref _preemptions);
        }

        Publish(running, prefilling);
    }

    /// <summary>
    /// Takes waiting sequences, preempted ones first, into the prefill list, first come first served, while running and
    /// prefilling sequences stay under <see cref="MaxRunning"/> and the next step's cache fits <see cref="MaxCacheTokens"/>.
    /// </summary>
    private void Admit(List<Sequence> running, List<Sequence> prefilling, List<Sequence> preempted)
    {
        var needed = CacheNeeded(running, prefilling);
        while (running.Count + prefilling.Count < MaxRunning && preempted.Count > 0 && needed + preempted[0].Tokens.Length + 1 <= MaxCacheTokens)
        {
            needed += preempted[0].Tokens.Length + 1;
            prefilling.Add(preempted[0]);
            preempted.RemoveAt(0);
        }

        while (preempted.Count == 0 && running.Count + prefilling.Count < MaxRunning && _queue.Reader.TryPeek(out var next))
        {
            // The first waiting sequence that does not fit the cache budget waits for running ones to finish (a
            // cancelled one is taken out whatever its size).
            if (!next.Ended && needed + next.Tokens.Length + 1 > MaxCacheTokens)
            {
                break;
            }

            _queue.Reader.TryRead(out var sequence);
            if (!sequence!.TryAdmit())
            {
                sequence.Cancel(this); // its stream already ended when its caller cancelled: this only tidies up
                continue;
            }

            Interlocked.Decrement(ref _waiting);
            sequence.QueueTime = _time.GetElapsedTime(sequence.Queued);

            if (sequence.CancellationToken.IsCancellationRequested)
            {
                sequence.Cancel(this);
                continue;
            }

            prefilling.Add(sequence);
            needed += sequence.Tokens.Length + 1;
        }

        Publish(running, prefilling);
    }

    /// <summary>
    /// Runs prompt chunks, first come first served, with the tokens the step budget leaves after one decode token per
    /// running sequence; a sequence whose prompt is all in its cache has its first token and joins this iteration's step.
    /// </summary>
    private void PrefillWithinBudget(List<Sequence> running, List<Sequence> prefilling, CancellationToken token)
    {
        var budget = Math.Max(1, MaxStepTokens - running.Count);
        while (budget > 0 && prefilling.Count > 0)
        {
            var sequence = prefilling[0];
            var count = Math.Min(sequence.Tokens.Length - sequence.Length, budget);
            budget -= count;
            try
            {
                Prefill(sequence, count, token);
            }
            catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
            {
                prefilling.RemoveAt(0);
                Publish(running, prefilling);
                sequence.Fail(e);
                continue;
            }

            if (sequence.Length < sequence.Tokens.Length)
            {
                break; // the budget ended inside this prompt: the next iteration goes on from here
            }

            prefilling.RemoveAt(0);
            if (!sequence.Finished)
            {
                running.Add(sequence);
            }

            Publish(running, prefilling);
        }
    }

    /// <summary>What the metrics read between steps: sequences running (prefilling ones included) and the tokens their caches hold, sequences preempted.</summary>
    private void Publish(List<Sequence> running, List<Sequence> prefilling)
    {
        long cached = 0;
        foreach (var sequence in running.Concat(prefilling))
        {
            cached += sequence.Length;
        }

        Volatile.Write(ref _running, running.Count + prefilling.Count);
        Volatile.Write(ref _cachedTokens, cached);
        Volatile.Write(ref _preemptedWaiting, _preempted.Count);
    }

    /// <summary>
    /// Runs the next <paramref name="count"/> prompt tokens of <paramref name="sequence"/> on top of the ones its cache
    /// holds (batch 1); after the prompt's last chunk, samples the first generated token from its last logits. A
    /// preempted sequence prefills its prompt and generated tokens but the last, which its next step runs as before.
    /// </summary>
    private void Prefill(Sequence sequence, int count, CancellationToken token)
    {
        var prompt = sequence.Prompt;
        var tokens = sequence.Tokens;
        var start = sequence.Length;
        var total = start + count;
        var ids = new long[count];
        var mask = new long[total];
        var positions = new long[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = tokens[start + i];
            positions[i] = start + i;
        }

        mask.AsSpan().Fill(1);
        var inputs = new List<NamedTensor>(3 + _decoder.PastNames.Count)
        {
            new(_decoder.Names.InputIds, Tensor.Create(ids, 1, count)),
            new(_decoder.Names.AttentionMask, Tensor.Create(mask, 1, total)),
        };
        if (_decoder.HasPositionIds)
        {
            inputs.Add(new(_decoder.Names.PositionIds, Tensor.Create(positions, 1, count)));
        }

        for (var k = 0; k < _decoder.PastNames.Count; k++)
        {
            var past = sequence.Cache?[k] ?? [];
            inputs.Add(new(_decoder.PastNames[k], Tensor.FromBytes(_decoder.CacheType, past, 1, _decoder.Heads, start, _decoder.HeadDim)));
        }

        // The present outputs are written straight into the sequence's own cache arrays.
        var cache = new byte[_decoder.PastNames.Count][];
        var outputs = new Tensor[1 + cache.Length];
        outputs[0] = Logits(1, count, VocabSize);
        for (var k = 0; k < cache.Length; k++)
        {
            cache[k] = GC.AllocateUninitializedArray<byte>(_decoder.Heads * total * _decoder.HeadDim * _element);
            outputs[1 + k] = Tensor.FromBytes(_decoder.CacheType, cache[k], 1, _decoder.Heads, total, _decoder.HeadDim);
        }

        var results = RunInto(inputs, outputs, token);
        sequence.Cache = results == outputs ? cache : [.. results.Skip(1).Select(t => t.Data.ToArray())];
        sequence.Length = total;

        // Prompt tokens count once: a preempted sequence's recompute runs them again.
        var prompted = Math.Min(total, prompt.Length);
        if (prompted > sequence.PromptCounted)
        {
            Interlocked.Add(ref _promptTokens, prompted - sequence.PromptCounted);
            sequence.PromptCounted = prompted;
        }

        Interlocked.Increment(ref _prefillChunks);
        if (sequence.Generated > 0)
        {
            return; // a recompute: its next token was sampled before it was preempted
        }

        var top = sequence.Parameters.PromptLogprobs;
        if (top is null && total < prompt.Length)
        {
            return; // a chunk before the prompt's last: its logits are not read
        }

        // The logits once (FP16 ones are widened into a buffer), for the prompt's log-probabilities and the first token.
        var vocab = (int)results[0].Shape[^1];
        var rows = LogitsOf(results[0]);
        if (top is { } alternatives)
        {
            // Row i predicts prompt token start + i + 1: the prompt's own log-probabilities, chunk by chunk.
            sequence.PromptLogprobs ??= new List<TokenLogprobs>(prompt.Length - 1);
            for (var i = 0; i < count && start + i + 1 < prompt.Length; i++)
            {
                sequence.PromptLogprobs.Add(Sampler.Logprobs(rows.Slice(i * vocab, vocab), prompt[start + i + 1], alternatives));
            }
        }

        if (total == prompt.Length)
        {
            Deliver(sequence, sequence.Sampler.Next(rows.Slice((count - 1) * vocab, vocab)));
        }
    }

    private void Step(List<Sequence> running, List<Sequence> prefilling, CancellationToken token)
    {
        if (_shared is { } shared)
        {
            SharedStep(shared, running, prefilling, token);
            return;
        }

        var batch = running.Count;
        var reuse = _batchPresent is not null && running.SequenceEqual(_batchMembers);
        if (!reuse)
        {
            TakeCachesOutOfBatch(running);
        }

        var past = 0;
        foreach (var sequence in running)
        {
            past = Math.Max(past, sequence.Length);
        }

        var total = past + 1;
        var heads = _decoder.Heads;
        var headDim = _decoder.HeadDim;
        var inputs = StepInputs(running, past);

        for (var k = 0; k < _decoder.PastNames.Count; k++)
        {
            if (reuse)
            {
                // Every sequence grew by one token last step, so the present's left padding is this step's padding.
                inputs.Add(new(_decoder.PastNames[k], _batchPresent![k]));
                continue;
            }

            // Offsets count token vectors (head_dim elements) of tokenBytes each.
            var tokenBytes = headDim * _element;
            var padded = new byte[batch * heads * past * tokenBytes];
            for (var b = 0; b < batch; b++)
            {
                var sequence = running[b];
                var length = sequence.Length;
                var cache = sequence.Cache![k];
                for (var h = 0; h < heads; h++)
                {
                    cache.AsSpan(h * length * tokenBytes, length * tokenBytes)
                        .CopyTo(padded.AsSpan((((b * heads) + h) * past + Lead(past, length)) * tokenBytes));
                }
            }

            inputs.Add(new(_decoder.PastNames[k], Tensor.FromBytes(_decoder.CacheType, padded, batch, heads, past, headDim)));
        }

        if (!reuse)
        {
            Interlocked.Increment(ref _cacheRebuilds);
        }

        // The outputs are written in place: the logits into a buffer kept across steps, the present caches into
        // buffers of the step pool (with room for the next steps' tokens), which the next step reads as its past.
        var outputs = new Tensor[1 + _decoder.PastNames.Count];
        outputs[0] = Logits(batch, 1, VocabSize);
        for (var k = 1; k < outputs.Length; k++)
        {
            var bytes = (long)batch * heads * total * headDim * _element;
            var buffer = _stepBuffers.Rent(bytes, slack: (long)batch * heads * StepBufferSlack * headDim * _element);
            outputs[k] = Tensor.FromBytes(_decoder.CacheType, buffer.AsMemory(0, (int)bytes), batch, heads, total, headDim);
        }

        Tensor[] results;
        try
        {
            results = RunInto(inputs, outputs, token);
        }
        catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
        {
            // A failed step fails the sequences in it, not the engine: the next requests run normally.
            foreach (var sequence in running)
            {
                sequence.Fail(e);
            }

            _stepBuffers.Return(outputs.AsSpan(1));
            running.Clear();
            DropBatch();
            Publish(running, prefilling);
            return;
        }

        Interlocked.Increment(ref _steps);
        if (batch > Volatile.Read(ref _largestBatch))
        {
            Volatile.Write(ref _largestBatch, batch);
        }

        if (results != outputs)
        {
            _stepBuffers.Return(outputs.AsSpan(1));
        }

        var vocab = (int)results[0].Shape[^1];
        var logits = LogitsOf(results[0]);

        // The caches stay in the present outputs; a sequence takes its own copy out only when the batch changes. The
        // last step's present (this step's past) is free again now that the run has read it.
        var present = results[1..];
        if (_batchPresent is { } previous)
        {
            _stepBuffers.Return(previous);
        }

        _batchPresent = present;
        _batchMembers = [.. running];
        DeliverStep(running, prefilling, logits, vocab);
    }

    /// <summary>After a decode step: each sequence's token from its row of logits, then the finished ones leave.</summary>
    private void DeliverStep(List<Sequence> running, List<Sequence> prefilling, ReadOnlySpan<float> logits, int vocab)
    {
        for (var b = 0; b < running.Count; b++)
        {
            var sequence = running[b];
            sequence.Cache = null;
            sequence.BatchRow = b;
            sequence.Length++;
            Deliver(sequence, sequence.Sampler.Next(logits.Slice(b * vocab, vocab)));
        }

        Publish(running, prefilling);

        for (var b = running.Count - 1; b >= 0; b--)
        {
            if (running[b].Finished)
            {
                var finished = running[b];
                running.RemoveAt(b);
                Publish(running, prefilling);
                finished.Complete();
            }
        }

        if (running.Count == 0)
        {
            // Idle: the step buffers are let go rather than held for the next request.
            DropBatch();
            _stepBuffers.Clear();
            _shared?.Release();
        }
    }

    /// <summary>
    /// A decode step on the shared buffer: row b holds running[b]'s cache, right-padded to the buffer's capacity, and is
    /// both the step's past and its present (ONNX Runtime's GroupQueryAttention writes each row's new key and value at
    /// the row's length, read from the mask). Before the step, rows are compacted after sequences left (a staying
    /// sequence's row moves down to its index in the batch) and a sequence that joined copies its prefill's cache in.
    /// </summary>
    private void SharedStep(SharedCache shared, List<Sequence> running, List<Sequence> prefilling, CancellationToken token)
    {
        var batch = running.Count;
        var past = 0;
        foreach (var sequence in running)
        {
            past = Math.Max(past, sequence.Length);
        }

        var total = past + 1;
        shared.EnsureCapacity(total);
        var changed = false;
        for (var b = 0; b < batch; b++)
        {
            // Rows keep the batch's order (a sequence that leaves shifts the later ones down), so moving row by row
            // upwards never overwrites a row still to move.
            var sequence = running[b];
            if (sequence.BatchRow == b)
            {
                continue;
            }

            if (sequence.BatchRow >= 0)
            {
                shared.Move(sequence.BatchRow, b, sequence.Length);
            }
            else
            {
                shared.CopyIn(b, sequence.Cache!, sequence.Length);
                sequence.Cache = null;
            }

            sequence.BatchRow = b;
            changed = true;
        }

        if (changed)
        {
            Interlocked.Increment(ref _cacheRebuilds);
        }

        var inputs = StepInputs(running, past);

        var outputs = new Tensor[1 + _decoder.PastNames.Count];
        outputs[0] = Logits(batch, 1, VocabSize);
        for (var k = 0; k < _decoder.PastNames.Count; k++)
        {
            var rows = shared.Rows(k, batch);
            inputs.Add(new(_decoder.PastNames[k], rows));
            outputs[1 + k] = rows;
        }

        try
        {
            RunInto(inputs, outputs, token);
        }
        catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
        {
            // A failed step fails the sequences in it, not the engine: the next requests run normally.
            foreach (var sequence in running)
            {
                sequence.Fail(e);
            }

            running.Clear();
            shared.Release();
            Publish(running, prefilling);
            return;
        }

        Interlocked.Increment(ref _steps);
        Interlocked.Increment(ref _sharedSteps);
        if (batch > Volatile.Read(ref _largestBatch))
        {
            Volatile.Write(ref _largestBatch, batch);
        }

        DeliverStep(running, prefilling, LogitsOf(outputs[0]), VocabSize);
    }

    /// <summary>
    /// A decode step's token inputs: each running sequence's next token and position, and the attention mask over
    /// <paramref name="past"/> + 1 keys, each row's ones over its own tokens: at the row's end (left padding) or its start
    /// (right padding, <see cref="Lead"/>); the past inputs follow.
    /// </summary>
    private List<NamedTensor> StepInputs(List<Sequence> running, int past)
    {
        var batch = running.Count;
        var total = past + 1;
        var ids = new long[batch];
        var mask = new long[batch * total];
        var positions = new long[batch];
        for (var b = 0; b < batch; b++)
        {
            var sequence = running[b];
            ids[b] = sequence.NextToken;
            positions[b] = sequence.Length;
            mask.AsSpan((b * total) + Lead(past, sequence.Length), sequence.Length + 1).Fill(1);
        }

        var inputs = new List<NamedTensor>(3 + _decoder.PastNames.Count)
        {
            new(_decoder.Names.InputIds, Tensor.Create(ids, batch, 1)),
            new(_decoder.Names.AttentionMask, Tensor.Create(mask, batch, total)),
        };
        if (_decoder.HasPositionIds)
        {
            inputs.Add(new(_decoder.Names.PositionIds, Tensor.Create(positions, batch, 1)));
        }

        return inputs;
    }

    /// <summary>
    /// Before a step whose batch differs from the last one: every running sequence whose cache is still a row of the
    /// last step's present outputs copies its own tokens out ([heads, Length, head_dim] per layer), without padding.
    /// </summary>
    private void TakeCachesOutOfBatch(List<Sequence> running)
    {
        if (_batchPresent is { } present)
        {
            var heads = _decoder.Heads;
            var headDim = _decoder.HeadDim;
            foreach (var sequence in running)
            {
                if (sequence.BatchRow < 0)
                {
                    continue;
                }

                var b = sequence.BatchRow;
                var length = sequence.Length;
                sequence.Cache = new byte[present.Length][];
                var tokenBytes = headDim * _element;
                for (var k = 0; k < present.Length; k++)
                {
                    var total = (int)present[k].Shape[2];
                    var rows = present[k].Data.Span;
                    var cache = new byte[heads * length * tokenBytes];
                    for (var h = 0; h < heads; h++)
                    {
                        rows.Slice((((b * heads) + h) * total + Lead(total, length)) * tokenBytes, length * tokenBytes)
                            .CopyTo(cache.AsSpan(h * length * tokenBytes));
                    }

                    sequence.Cache[k] = cache;
                }

                sequence.BatchRow = -1;
            }
        }

        DropBatch();
    }

    /// <summary>
    /// Where a sequence's <paramref name="length"/> tokens start in a batch row of <paramref name="width"/>: after the
    /// left padding, or at 0 for a decoder that pads on the right (GroupQueryAttention writes each row's new tokens after
    /// its own, at the row's length from the mask).
    /// </summary>
    private int Lead(int width, int length) => _decoder.PadsRight ? 0 : width - length;

    private void DropBatch()
    {
        if (_batchPresent is { } present)
        {
            _stepBuffers.Return(present);
        }

        _batchPresent = null;
        _batchMembers = [];
    }

    /// <summary>A logits tensor of <paramref name="shape"/> over the buffer kept across runs (each run's logits are read before the next run).</summary>
    private Tensor Logits(params long[] shape)
    {
        var bytes = (int)Tensor.CountElements(shape) * _decoder.LogitsType.ElementSize();
        if (_logits.Length < bytes)
        {
            _logits = GC.AllocateUninitializedArray<byte>(bytes);
        }

        return Tensor.FromBytes(_decoder.LogitsType, _logits.AsMemory(0, bytes), shape);
    }

    /// <summary>A run's logits as FP32: as they are, or FP16 ones widened into a buffer kept across runs.</summary>
    private ReadOnlySpan<float> LogitsOf(Tensor logits)
    {
        if (logits.DataType == DataType.FP32)
        {
            return logits.Span<float>();
        }

        var half = logits.Span<Half>();
        if (_logitsF32.Length < half.Length)
        {
            _logitsF32 = GC.AllocateUninitializedArray<float>(half.Length);
        }

        for (var i = 0; i < half.Length; i++)
        {
            _logitsF32[i] = (float)half[i];
        }

        return _logitsF32.AsSpan(0, half.Length);
    }

    /// <summary>
    /// Runs the decoder into <paramref name="outputs"/> (logits, then the presents) where the backend writes outputs in
    /// place and the logits' shape is known; otherwise a plain run, whose own output tensors are returned.
    /// </summary>
    private Tensor[] RunInto(List<NamedTensor> inputs, Tensor[] outputs, CancellationToken token)
    {
        if (_instance is IRunIntoOutputs into && _decoder.VocabSize > 0)
        {
            var named = new NamedTensor[outputs.Length];
            for (var k = 0; k < outputs.Length; k++)
            {
                named[k] = new NamedTensor(_decoder.OutputNames[k], outputs[k]);
            }

            into.RunInto(inputs, named, token);
            return outputs;
        }

        return [.. _instance.Run(inputs, _decoder.OutputNames, token).Select(o => o.Tensor)];
    }

    /// <summary>Hands a sampled token to its sequence and decides whether the sequence ends with it.</summary>
    private void Deliver(Sequence sequence, int token)
    {
        Interlocked.Increment(ref _generatedTokens);
        sequence.Generated++;
        sequence.GeneratedIds.Add(token);
        var parameters = sequence.Parameters;
        if ((!parameters.IgnoreEos && _eos.Contains(token)) || Contains(parameters.StopTokenIds, token))
        {
            sequence.Emit(new GenerationChunk(token, sequence.Text.Flush(), FinishReason.Stop, sequence.Sampler.LastLogprobs));
        }
        else
        {
            // Before min_tokens, stop strings do not end the text (the end ids cannot be drawn then: the sampler masks them).
            var (released, stopped) = sequence.Text.Add(token, armed: sequence.Generated >= parameters.MinTokens);
            if (stopped)
            {
                sequence.Emit(new GenerationChunk(token, released, FinishReason.Stop, sequence.Sampler.LastLogprobs));
            }
            else if (sequence.Generated >= parameters.MaxTokens || sequence.Length + 1 >= ContextLength)
            {
                sequence.Emit(new GenerationChunk(token, released + sequence.Text.Flush(), FinishReason.Length, sequence.Sampler.LastLogprobs));
            }
            else
            {
                sequence.NextToken = token;
                sequence.Emit(new GenerationChunk(token, released, null, sequence.Sampler.LastLogprobs));
            }
        }

        // A sequence that finishes at its prefill never joins the batch: complete it here.
        if (sequence.Finished && sequence.Length == sequence.Prompt.Length)
        {
            sequence.Complete();
        }
    }

    private static bool Contains(IReadOnlyList<int> ids, int token)
    {
        for (var i = 0; i < ids.Count; i++)
        {
            if (ids[i] == token)
            {
                return true;
            }
        }

        return false;
    }

    private sealed class Sequence(int[] prompt, SamplingParameters parameters, GenerativeTokenizer tokenizer, IReadOnlySet<int> eos, CancellationToken cancellationToken)
    {
        public int[] Prompt { get; } = prompt;

        /// <summary>What its prefill runs: the prompt; after a preemption, the prompt and the generated tokens but the last.</summary>
        public int[] Tokens { get; private set; } = prompt;

        /// <summary>The tokens generated so far.</summary>
        public List<int> GeneratedIds { get; } = [];

        /// <summary>Prompt tokens counted in <see cref="GenerationEngine.PromptTokens"/> so far.</summary>
        public int PromptCounted { get; set; }

        /// <summary>True once its caller ended it while it waited.</summary>
        public bool Ended => Volatile.Read(ref _state) == 2;

        public SamplingParameters Parameters { get; } = parameters;

        public CancellationToken CancellationToken { get; } = cancellationToken;

        public Sampler Sampler { get; } = new(parameters, prompt, parameters.IgnoreEos ? parameters.StopTokenIds : eos.Concat(parameters.StopTokenIds));

        public StopStringTracker Text { get; } = new(tokenizer, parameters.Stop);

        public Channel<GenerationChunk> Output { get; } = Channel.CreateUnbounded<GenerationChunk>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

        /// <summary>Per past input, [heads, Length, head_dim]; null while the cache is row <see cref="BatchRow"/> of the last step's present outputs.</summary>
        public byte[][]? Cache { get; set; }

        /// <summary>The sequence's row in the last step's present outputs, or -1 when <see cref="Cache"/> holds its tokens.</summary>
        public int BatchRow { get; set; } = -1;

        /// <summary>Tokens in the cache: the prompt and every generated token but the last.</summary>
        public int Length { get; set; }

        public int Generated { get; set; }

        /// <summary>
        /// Leaves the batch for the queue: the cache goes; once it joins again it prefills <see cref="Tokens"/> and its
        /// next step runs <see cref="NextToken"/>, as it would have (its sampler and stop strings keep their state).
        /// </summary>
        public void Preempt()
        {
            Cache = null;
            BatchRow = -1;
            Length = 0;
            if (Generated == 0)
            {
                PromptLogprobs = null; // computed again with the prompt
            }
            else
            {
                Tokens = [.. Prompt, .. GeneratedIds.Take(Generated - 1)];
            }
        }

        public int NextToken { get; set; }

        public bool Finished { get; private set; }

        public CancellationTokenRegistration Registration { get; set; }

        private int _state; // 0 waiting, 1 admitted, 2 ended while waiting

        /// <summary>The loop takes the sequence from the queue: false when its caller already ended it there.</summary>
        public bool TryAdmit() => Interlocked.CompareExchange(ref _state, 1, 0) == 0;

        /// <summary>The caller's token fired: a sequence still waiting ends its stream now (true); a running one at the next step.</summary>
        public bool EndWhileWaiting()
        {
            if (Interlocked.CompareExchange(ref _state, 2, 0) != 0)
            {
                return false;
            }

            Output.Writer.TryComplete(new OperationCanceledException("the request was cancelled", CancellationToken));
            return true;
        }

        /// <summary>The prompt's own log-probabilities, when asked for; they ride on the first chunk.</summary>
        public List<TokenLogprobs>? PromptLogprobs { get; set; }

        /// <summary>When it was queued (the engine clock's timestamp) and, once admitted, how long it waited.</summary>
        public long Queued { get; init; }

        public TimeSpan QueueTime { get; set; }

        public void Emit(GenerationChunk chunk)
        {
            Finished = chunk.Finish is not null;
            if (Generated == 1)
            {
                chunk = chunk with { PromptLogprobs = PromptLogprobs, QueueTime = QueueTime };
            }

            Output.Writer.TryWrite(chunk);
        }

        public void Complete()
        {
            Registration.Dispose();
            Output.Writer.TryComplete();
        }

        public void Cancel(GenerationEngine engine)
        {
            Registration.Dispose();
            Output.Writer.TryComplete(new OperationCanceledException("the request was cancelled", CancellationToken));
            engine.SequenceCancelled?.Invoke();
        }

        public void Fail(Exception e)
        {
            Registration.Dispose();
            Output.Writer.TryComplete(e);
        }
    }
}

/// <summary>
/// The shared past/present cache of a GroupQueryAttention decoder: per past input one buffer of [max_running, heads,
/// capacity, head_dim] (in the cache type), row b the b-th running sequence's keys or values, its tokens first (right padding). The
/// capacity grows with the longest sequence (to the context length at most), copying each row's tokens.
/// </summary>
internal sealed class SharedCache(int inputs, int maxRows, int heads, int tokenBytes, int contextLength, DataType type, int headDim)
{
    private const int Slack = 32;
    private readonly byte[][] _buffers = new byte[inputs][];
    private int _capacity;

    /// <summary>Tokens each row holds at most before the buffer grows.</summary>
    public int Capacity => _capacity;

    /// <summary>Makes room for <paramref name="tokens"/> per row, keeping what every row holds.</summary>
    public void EnsureCapacity(int tokens)
    {
        if (tokens <= _capacity)
        {
            return;
        }

        // Offsets below count token vectors (head_dim elements, tokenBytes each).
        var capacity = Math.Min(contextLength, Math.Max(tokens + Slack, 2 * _capacity));
        for (var k = 0; k < _buffers.Length; k++)
        {
            var grown = GC.AllocateUninitializedArray<byte>(checked(maxRows * heads * capacity * tokenBytes));
            if (_buffers[k] is { } old)
            {
                for (var head = 0; head < maxRows * heads; head++)
                {
                    old.AsSpan(head * _capacity * tokenBytes, _capacity * tokenBytes).CopyTo(grown.AsSpan(head * capacity * tokenBytes));
                }
            }

            _buffers[k] = grown;
        }

        _capacity = capacity;
    }

    /// <summary>The first <paramref name="rows"/> rows of input <paramref name="k"/>'s buffer: [rows, heads, capacity, head_dim].</summary>
    public Tensor Rows(int k, int rows) =>
        Tensor.FromBytes(type, _buffers[k].AsMemory(0, rows * heads * _capacity * tokenBytes), rows, heads, _capacity, headDim);

    /// <summary>Moves the first <paramref name="length"/> tokens of row <paramref name="from"/> to row <paramref name="to"/>.</summary>
    public void Move(int from, int to, int length)
    {
        foreach (var buffer in _buffers)
        {
            for (var h = 0; h < heads; h++)
            {
                buffer.AsSpan(((from * heads) + h) * _capacity * tokenBytes, length * tokenBytes)
                    .CopyTo(buffer.AsSpan(((to * heads) + h) * _capacity * tokenBytes));
            }
        }
    }

    /// <summary>Copies a prefill's cache (per input [heads, length, head_dim]) into row <paramref name="row"/>.</summary>
    public void CopyIn(int row, byte[][] cache, int length)
    {
        for (var k = 0; k < _buffers.Length; k++)
        {
            for (var h = 0; h < heads; h++)
            {
                cache[k].AsSpan(h * length * tokenBytes, length * tokenBytes).CopyTo(_buffers[k].AsSpan(((row * heads) + h) * _capacity * tokenBytes));
            }
        }
    }

    /// <summary>Lets the buffers go (nothing runs).</summary>
    public void Release()
    {
        Array.Clear(_buffers);
        _capacity = 0;
    }
}

/// <summary>
/// The decode steps' cache buffers: a step's present outputs are written into buffers rented here, read by the next
/// step as its past, and returned after it; a buffer is allocated with room for more tokens, so the steps of one
/// batch reuse two sets of buffers instead of allocating (and zeroing) the whole cache every token.
/// </summary>
internal sealed class StepBuffers(int maxFree)
{
    private readonly List<byte[]> _free = [];

    /// <summary>A buffer of <paramref name="bytes"/> or more: the smallest free one that fits, else a new one with <paramref name="slack"/> more.</summary>
    public byte[] Rent(long bytes, long slack)
    {
        var best = -1;
        for (var i = 0; i < _free.Count; i++)
        {
            if (_free[i].LongLength >= bytes && (best < 0 || _free[i].LongLength < _free[best].LongLength))
            {
                best = i;
            }
        }

        if (best < 0)
        {
            return GC.AllocateUninitializedArray<byte>((int)Math.Min(Array.MaxLength, bytes + slack));
        }

        var buffer = _free[best];
        _free.RemoveAt(best);
        return buffer;
    }

    /// <summary>Takes the arrays under <paramref name="tensors"/> back; the smallest are let go past a bound.</summary>
    public void Return(ReadOnlySpan<Tensor> tensors)
    {
        foreach (var tensor in tensors)
        {
            if (System.Runtime.InteropServices.MemoryMarshal.TryGetArray(tensor.Data, out var segment) && segment.Array is { Length: > 0 } array)
            {
                _free.Add(array);
            }
        }

        if (_free.Count > maxFree)
        {
            _free.Sort((a, b) => b.Length.CompareTo(a.Length));
            _free.RemoveRange(maxFree, _free.Count - maxFree);
        }
    }

    public void Clear() => _free.Clear();
}
