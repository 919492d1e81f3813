using System.Diagnostics;
using System.Threading.Channels;
using Pronto.Core.Backends;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Repository;

namespace Pronto.Core.Scheduling;

/// <summary>
/// Triton's dynamic batcher for one model version: requests wait in a bounded queue, one scheduler loop
/// forms batches (up to <c>max_batch_size</c> rows, at a <c>preferred_batch_size</c> or when the oldest has
/// waited <c>max_queue_delay_microseconds</c>), in priority order, applying the queue policy (queue size,
/// timeouts REJECT/DELAY), and hands each batch to one of <c>instance_group.count</c> execution slots. All
/// waiting is on the <see cref="TimeProvider"/>, so tests drive it with fake time.
/// </summary>
/// <remarks>
/// Ownership: <see cref="EnqueueAsync"/> borrows the request's input tensors until its task completes; the
/// caller keeps their memory alive until then (a queued request cancelled by its caller is never read again).
/// </remarks>
public sealed class DynamicBatcher : IAsyncDisposable
{
    /// <summary>
    /// Config parameter (<c>"true"</c>): start a batch as soon as an instance is free instead of waiting up to
    /// max_queue_delay for more requests. Batches then form from the requests that arrive while instances are
    /// busy, so a lone request pays no queue delay and a loaded model still batches ("at most" the delay).
    /// </summary>
    public const string EagerKey = ProntoParameters.DynamicBatchingEager;

    /// <summary>Waiting requests when <c>max_queue_size</c> is 0 (Triton: unbounded): memory stays bounded under any load.</summary>
    public const int DefaultQueueBound = 1024;

    private readonly ModelConfig _config;
    private readonly IModelInstance _instance;
    private readonly ModelStatistics _statistics;
    private readonly TimeProvider _time;
    private readonly CpuClock _cpu;
    private readonly QueueBudget? _budget;
    private readonly Channel<ScheduledRequest> _intake;
    private readonly List<ScheduledRequest>[] _levels;
    private readonly List<ScheduledRequest> _delayed = [];
    private readonly SemaphoreSlim _slots;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly int _maxBatch;
    private readonly int _largestPreferred;
    private readonly long _delayTicks;

    // pronto.dynamic_batching.eager: a batch starts as soon as an instance is free, with whatever waits.
    private readonly bool _eager;
    private readonly int _queueBound;
    private readonly int _defaultLevel;
    private readonly QueuePolicy _policy;
    private readonly bool _preserveOrdering;
    internal int _queued;
    private long _queuedRows;
    private long _sequence;
    private Task _previousBatchDone = Task.CompletedTask;
    private Task? _pendingRead;
    private Task? _pendingSlot;

    /// <param name="budget">The model's queue-wait budget (overload shedding); null: only the queue policy bounds waiting.</param>
    public DynamicBatcher(ModelConfig config, IModelInstance instance, ModelStatistics statistics, TimeProvider time, CpuClock? cpuClock = null, QueueBudget? budget = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var batching = config.DynamicBatching ?? throw new ArgumentException("the model has no dynamic_batching", nameof(config));
        _config = config;
        _instance = instance;
        _statistics = statistics;
        _time = time;
        _cpu = cpuClock ?? CpuClock.Thread;
        _budget = budget;
        _maxBatch = Math.Max(1, config.MaxBatchSize);
        foreach (var size in batching.PreferredBatchSize)
        {
            if (size <= _maxBatch)
            {
                _largestPreferred = Math.Max(_largestPreferred, size);
            }
        }

        _delayTicks = ToTimestamp(batching.MaxQueueDelayMicroseconds);
        _eager = config.Parameters.TryGetValue(EagerKey, out var eager) && eager == "true";
        _policy = batching.DefaultQueuePolicy;
        _queueBound = _policy.MaxQueueSize > 0 ? _policy.MaxQueueSize : DefaultQueueBound;
        _preserveOrdering = batching.PreserveOrdering;
        var levels = Math.Max(1, batching.PriorityLevels);
        // Triton's default_priority_level; unset, a request without a priority goes behind those that give one.
        var d = batching.DefaultPriorityLevel;
        _defaultLevel = d > 0 && d <= levels ? d - 1 : levels - 1;
        _levels = new List<ScheduledRequest>[levels];
        for (var i = 0; i < levels; i++)
        {
            _levels[i] = [];
        }

        _slots = new SemaphoreSlim(config.InstanceCount, config.InstanceCount);
        _intake = Channel.CreateBounded<ScheduledRequest>(new BoundedChannelOptions(_queueBound) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _loop = Task.Run(RunLoopAsync);
    }

    /// <summary>Requests waiting in the queue now (not yet in a running batch).</summary>
    public int QueueLength => Volatile.Read(ref _queued);

    /// <summary>Rows of the requests waiting in the queue.</summary>
    public long QueuedRows => Interlocked.Read(ref _queuedRows);

    /// <summary>
    /// Queues validated <paramref name="inputs"/> (leading batch dimension) for a batched run of <paramref name="outputNames"/>.
    /// Throws Unavailable when the queue is full; the task fails with Unavailable when the request times out in the
    /// queue (REJECT), is cancelled when <paramref name="cancellationToken"/> fires before its run.
    /// Parameters read: <c>priority</c> (1 = highest) and <c>timeout</c> (microseconds, if the policy allows an override).
    /// </summary>
    public Task<BatchedRun> EnqueueAsync(IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string> outputNames, IReadOnlyDictionary<string, object> parameters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(parameters);
        var rows = inputs.Count > 0 && inputs[0].Tensor.Rank > 0 ? (int)inputs[0].Tensor.Shape[0] : 1;
        var level = PriorityLevel(parameters);
        var now = _time.GetTimestamp();
        var timeoutUs = _policy.DefaultTimeoutMicroseconds;
        if (_policy.AllowTimeoutOverride && parameters.TryGetValue("timeout", out var t))
        {
            timeoutUs = t is long us && us >= 0 ? us : ProntoErrors.InvalidArgument<long>("parameter 'timeout' must be a non-negative integer (microseconds)");
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<BatchedRun>(cancellationToken);
        }

        if (Interlocked.Increment(ref _queued) > _queueBound)
        {
            Interlocked.Decrement(ref _queued);
            throw new ProntoException(ErrorCode.Unavailable, $"inference request for model '{_config.Name}' exceeds maximum queue size ({_queueBound})") { RetryAfterSeconds = 1 };
        }

        try
        {
            _budget?.Admit(Interlocked.Read(ref _queuedRows));
        }
        catch
        {
            Interlocked.Decrement(ref _queued);
            throw;
        }

        Interlocked.Add(ref _queuedRows, rows);
        // Triton's own timeout wins; without one the budget bounds the wait.
        var budgetTimeout = timeoutUs == 0 && _budget is not null;

        var request = new ScheduledRequest
        {
            Inputs = inputs,
            OutputNames = outputNames,
            Rows = rows,
            Priority = level,
            EnqueuedAt = now,
            TimeoutAt = budgetTimeout ? _budget!.Deadline(now) : timeoutUs > 0 ? now + ToTimestamp(timeoutUs) : long.MaxValue,
            BudgetTimeout = budgetTimeout,
            Sequence = Interlocked.Increment(ref _sequence),
            CancellationToken = cancellationToken,
            Owner = this,
        };
        if (cancellationToken.CanBeCanceled)
        {
            request.Registration = cancellationToken.UnsafeRegister(static s => OnCanceled((ScheduledRequest)s!), request);
        }

        if (!_intake.Writer.TryWrite(request))
        {
            // Only when stopping: the counter bounds the queue below the channel's capacity.
            if (Interlocked.CompareExchange(ref request.State, ScheduledRequest.Done, ScheduledRequest.Queued) == ScheduledRequest.Queued)
            {
                Dequeued(request);
                request.Registration.Dispose();
                request.Completion.TrySetException(new ProntoException(ErrorCode.Unavailable, $"model '{_config.Name}' is unloading"));
            }
        }

        return request.Completion.Task;
    }

    private int PriorityLevel(IReadOnlyDictionary<string, object> parameters)
    {
        if (_levels.Length <= 1 || !parameters.TryGetValue("priority", out var p))
        {
            return _defaultLevel;
        }

        if (p is not long level || level < 0 || level > _levels.Length)
        {
            return ProntoErrors.InvalidArgument<int>($"parameter 'priority' must be an integer from 1 (highest) to {_levels.Length} for model '{_config.Name}', or 0 for the default");
        }

        return level == 0 ? _defaultLevel : (int)level - 1;
    }

    private static void OnCanceled(ScheduledRequest request)
    {
        if (Interlocked.CompareExchange(ref request.State, ScheduledRequest.Done, ScheduledRequest.Queued) == ScheduledRequest.Queued)
        {
            // Still queued: it leaves now (the loop skips it) and its caller is free to release the inputs.
            request.Owner.Dequeued(request);
            request.Completion.TrySetCanceled(request.CancellationToken);
        }
        else if (Volatile.Read(ref request.State) == ScheduledRequest.Running)
        {
            // In a run: the caller is answered when the run ends (it may still read the inputs); the run stops early if nobody else waits.
            request.Batch?.CallerCanceled();
        }
    }

    private async Task RunLoopAsync()
    {
        var stop = _stop.Token;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                Drain();
                var now = _time.GetTimestamp();
                var nextTimeout = ApplyTimeouts(now);
                if (!HasWaiting())
                {
                    await WaitAsync(nextTimeout, needSlot: false, stop).ConfigureAwait(false);
                    continue;
                }

                _pendingSlot ??= _slots.WaitAsync(stop);
                if (!_pendingSlot.IsCompleted)
                {
                    await WaitAsync(nextTimeout, needSlot: true, stop).ConfigureAwait(false);
                    continue;
                }

                await _pendingSlot.ConfigureAwait(false);
                var (batch, running, count, rows, wakeAt) = Form(now);
                if (count == 0)
                {
                    await WaitAsync(Math.Min(wakeAt, nextTimeout), needSlot: false, stop).ConfigureAwait(false);
                    continue;
                }

                _pendingSlot = null;
                var previous = _previousBatchDone;
                var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _previousBatchDone = done.Task;
                _ = Task.Run(() => ExecuteAsync(batch, running!, count, rows, previous, done));
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    // Waits for a new request, a free slot (if asked) or the time wakeAt, whichever comes first.
    private async Task WaitAsync(long wakeAt, bool needSlot, CancellationToken stop)
    {
        _pendingRead ??= _intake.Reader.WaitToReadAsync(stop).AsTask();
        Task? timer = null;
        using var timerCancel = CancellationTokenSource.CreateLinkedTokenSource(stop);
        if (wakeAt != long.MaxValue)
        {
            var delay = _time.GetElapsedTime(_time.GetTimestamp(), wakeAt);
            if (delay <= TimeSpan.Zero)
            {
                return;
            }

            timer = Task.Delay(delay, _time, timerCancel.Token);

            // Time may have moved between reading it and arming the timer (fake time in tests): look again.
            if (_time.GetTimestamp() >= wakeAt)
            {
                await timerCancel.CancelAsync().ConfigureAwait(false);
                return;
            }
        }

        var read = _pendingRead;
        var wakers = new List<Task>(3) { read };
        if (needSlot && _pendingSlot is not null)
        {
            wakers.Add(_pendingSlot);
        }

        if (timer is not null)
        {
            wakers.Add(timer);
        }

        await Task.WhenAny(wakers).ConfigureAwait(false);
        if (read.IsCompleted)
        {
            _pendingRead = null;
            if (read.IsCompletedSuccessfully && !((Task<bool>)read).Result)
            {
                _stop.Token.ThrowIfCancellationRequested();
            }
        }

        await timerCancel.CancelAsync().ConfigureAwait(false);
        stop.ThrowIfCancellationRequested();
    }

    private void Drain()
    {
        while (_intake.Reader.TryRead(out var request))
        {
            if (request.IsLive)
            {
                _levels[request.Priority].Add(request);
            }
        }
    }

    private bool HasWaiting()
    {
        foreach (var level in _levels)
        {
            if (Compact(level) > 0)
            {
                return true;
            }
        }

        return Compact(_delayed) > 0;
    }

    // Drops requests that left the queue (cancelled) from a level; returns how many remain.
    private static int Compact(List<ScheduledRequest> level)
    {
        level.RemoveAll(static r => !r.IsLive);
        return level.Count;
    }

    // REJECT fails timed-out requests; DELAY moves them behind every other request. Returns the next timeout.
    private long ApplyTimeouts(long now)
    {
        var next = long.MaxValue;
        foreach (var level in _levels)
        {
            for (var i = 0; i < level.Count; i++)
            {
                var r = level[i];
                if (r.TimeoutAt > now)
                {
                    next = Math.Min(next, r.TimeoutAt);
                    continue;
                }

                if (_policy.TimeoutAction == TimeoutAction.Delay && !r.BudgetTimeout)
                {
                    r.Delayed = true;
                    _delayed.Add(r);
                    level.RemoveAt(i--);
                }
                else if (Interlocked.CompareExchange(ref r.State, ScheduledRequest.Done, ScheduledRequest.Queued) == ScheduledRequest.Queued)
                {
                    Dequeued(r);
                    r.Registration.Dispose();
                    r.Completion.TrySetException(r.BudgetTimeout ? _budget!.TimedOut() : new ProntoException(ErrorCode.Unavailable, $"inference request for model '{_config.Name}' timed out in the queue"));
                    level.RemoveAt(i--);
                }
            }
        }

        return next;
    }

    /// <summary>
    /// Picks the next batch in priority order: now if it reaches max_batch_size or the largest preferred size
    /// (cut at the preferred size when a request boundary falls there), or once the oldest request has waited
    /// max_queue_delay; else nothing and the time to look again.
    /// </summary>
    private (ScheduledRequest[] Batch, RunningBatch? Running, int Count, int Rows, long WakeAt) Form(long now)
    {
        var candidates = new List<ScheduledRequest>();
        var rows = 0;
        var oldest = long.MaxValue;
        var preferredCut = 0;
        var full = false;
        foreach (var level in Levels())
        {
            foreach (var r in level)
            {
                if (rows + r.Rows > _maxBatch || (candidates.Count > 0 && !BatchAssembler.Compatible(_config, candidates[0], r)))
                {
                    full = true;
                    break;
                }

                candidates.Add(r);
                rows += r.Rows;
                oldest = Math.Min(oldest, r.EnqueuedAt);
                if (rows == _largestPreferred)
                {
                    preferredCut = candidates.Count;
                }
            }

            if (full)
            {
                break;
            }
        }

        var take = 0;
        if (rows >= _maxBatch || full)
        {
            take = candidates.Count;
        }
        else if (_largestPreferred > 0 && rows >= _largestPreferred)
        {
            take = preferredCut > 0 ? preferredCut : candidates.Count;
        }
        else if (_eager || now - oldest >= _delayTicks)
        {
            // Form runs only while holding a free instance: eager batching never leaves it idle to wait.
            take = candidates.Count;
        }

        if (take == 0)
        {
            return ([], null, 0, 0, oldest + _delayTicks);
        }

        // The batch is attached before a request turns Running, so a cancellation that finds it Running finds its batch.
        var running = new RunningBatch(take);
        var batch = new ScheduledRequest[take];
        var taken = 0;
        var takenRows = 0;
        for (var i = 0; i < take; i++)
        {
            var r = candidates[i];
            RemoveFromLevel(r);
            r.Batch = running;
            if (Interlocked.CompareExchange(ref r.State, ScheduledRequest.Running, ScheduledRequest.Queued) == ScheduledRequest.Queued)
            {
                Dequeued(r);
                batch[taken++] = r;
                takenRows += r.Rows;
            }
            else
            {
                running.Forget();
            }
        }

        if (taken == 0)
        {
            running.Dispose();
            return ([], null, 0, 0, now);
        }

        return (batch, running, taken, takenRows, long.MaxValue);
    }

    private void Dequeued(ScheduledRequest r)
    {
        Interlocked.Decrement(ref _queued);
        Interlocked.Add(ref _queuedRows, -r.Rows);
    }

    private IEnumerable<List<ScheduledRequest>> Levels()
    {
        foreach (var level in _levels)
        {
            yield return level;
        }

        yield return _delayed;
    }

    private void RemoveFromLevel(ScheduledRequest r)
    {
        var level = r.Delayed ? _delayed : _levels[r.Priority];
        level.Remove(r);
    }

    private async Task ExecuteAsync(ScheduledRequest[] batch, RunningBatch running, int count, int rows, Task previous, TaskCompletionSource done)
    {
        using var owned = running;
        var started = _time.GetTimestamp();
        Exception? failure = null;
        NamedTensor[][]? results = null;
        long inputTicks = 0, inferTicks = 0, outputTicks = 0, cpuNs = 0;
        try
        {
            var t0 = Stopwatch.GetTimestamp();
            var names = OutputNames(batch, count);
            var merged = count == 1 ? null : BatchAssembler.Concatenate(batch, count, rows);
            var t1 = Stopwatch.GetTimestamp();
            var cpu0 = _cpu.Begin();
            var raw = _instance.Run(merged ?? batch[0].Inputs, names, running.Token);
            cpuNs = _cpu.End(cpu0);
            var t2 = Stopwatch.GetTimestamp();
            results = new NamedTensor[count][];
            long offset = 0;
            for (var i = 0; i < count; i++)
            {
                results[i] = merged is null ? Pick(batch[0].OutputNames, raw, names) : BatchAssembler.Split(batch[i], offset, batch[i].OutputNames, raw, names, merged);
                offset += batch[i].Rows;
            }

            var t3 = Stopwatch.GetTimestamp();
            inputTicks = t1 - t0;
            inferTicks = t2 - t1;
            outputTicks = t3 - t2;
            _statistics.RecordExecution(rows, inputTicks, inferTicks, outputTicks, cpuNs);
            if (_budget is not null)
            {
                var readySince = long.MaxValue;
                for (var i = 0; i < count; i++)
                {
                    readySince = Math.Min(readySince, batch[i].EnqueuedAt);
                }

                _budget.RecordRun(rows, started, readySince);
            }
        }
        catch (Exception e)
        {
            failure = e;
        }
        finally
        {
            _slots.Release();
        }

        if (_preserveOrdering)
        {
            // Responses leave in the order their batches formed.
            await previous.ConfigureAwait(false);
        }

        for (var i = 0; i < count; i++)
        {
            var r = batch[i];
            r.Registration.Dispose();
            Volatile.Write(ref r.State, ScheduledRequest.Done);
            if (r.CancellationToken.IsCancellationRequested)
            {
                r.Completion.TrySetCanceled(r.CancellationToken);
            }
            else if (failure is OperationCanceledException)
            {
                r.Completion.TrySetException(new ProntoException(ErrorCode.Internal, "the batched run was terminated"));
            }
            else if (failure is not null)
            {
                r.Completion.TrySetException(failure);
            }
            else
            {
                var queued = _time.GetElapsedTime(r.EnqueuedAt, started);
                // Each request's share of the run's cost is its share of the rows.
                r.Completion.TrySetResult(new BatchedRun(results![i], queued, rows, inputTicks, inferTicks, outputTicks, cpuNs * r.Rows / rows));
            }
        }

        done.TrySetResult();
    }

    private static NamedTensor[] Pick(IReadOnlyList<string> wanted, IReadOnlyList<NamedTensor> raw, List<string> names)
    {
        var result = new NamedTensor[wanted.Count];
        for (var i = 0; i < wanted.Count; i++)
        {
            result[i] = raw[names.IndexOf(wanted[i])];
        }

        return result;
    }

    private static List<string> OutputNames(ScheduledRequest[] batch, int count)
    {
        var names = new List<string>();
        for (var i = 0; i < count; i++)
        {
            foreach (var name in batch[i].OutputNames)
            {
                if (!names.Contains(name))
                {
                    names.Add(name);
                }
            }
        }

        return names;
    }

    private long ToTimestamp(long microseconds) => (long)(microseconds * (_time.TimestampFrequency / 1_000_000.0));

    public async ValueTask DisposeAsync()
    {
        _intake.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        // Whatever still waits (only if disposed with callers inside) is told the model went away.
        foreach (var level in Levels())
        {
            foreach (var r in level)
            {
                if (Interlocked.CompareExchange(ref r.State, ScheduledRequest.Done, ScheduledRequest.Queued) == ScheduledRequest.Queued)
                {
                    r.Registration.Dispose();
                    r.Completion.TrySetException(new ProntoException(ErrorCode.Unavailable, $"model '{_config.Name}' is unloading"));
                }
            }
        }

        _stop.Dispose();
        _slots.Dispose();
    }
}
