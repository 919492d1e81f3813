using System.Collections.Concurrent;
using System.Diagnostics;

namespace Pronto.Core.Repository;

/// <summary>
/// Triton's per-model-version statistics: request outcomes and where the time went (queue, compute input,
/// compute infer, compute output), as counts and nanoseconds, plus the response cache's hits and misses and the engine's
/// CPU time (the cost: <see cref="Inference.CpuClock"/> says what it counts). Lock-free: updated on every request.
/// Each load of a version gets its own (the statistics extension restarts with the load); every record is also
/// counted in the version's lifetime totals, when given, which outlive reloads (the Prometheus counters).
/// </summary>
public sealed class ModelStatistics(ModelStatistics? totals = null)
{
    private long _successCount;
    private long _successNs;
    private long _failCount;
    private long _failNs;
    private readonly long[] _failuresByReason = new long[4];
    private long _queueCount;
    private long _queueNs;
    private long _inputCount;
    private long _inputNs;
    private long _inferCount;
    private long _inferNs;
    private long _outputCount;
    private long _outputNs;
    private long _inferenceCount;
    private long _executionCount;
    private long _lastInferenceMs;
    private long _cacheHitCount;
    private long _cacheHitNs;
    private long _cacheMissCount;
    private long _cacheMissNs;
    private long _costCpuNs;

    // One entry per batch size seen: executions are few and sizes bounded by max_batch_size, so a map is enough.
    private readonly ConcurrentDictionary<long, BatchCounter> _batches = new();

    /// <summary>A consistent-enough copy for the stats endpoint and /metrics (each field read atomically).</summary>
    public ModelStatisticsSnapshot Snapshot() => new(
        Interlocked.Read(ref _lastInferenceMs),
        Interlocked.Read(ref _inferenceCount),
        Interlocked.Read(ref _executionCount),
        new(Interlocked.Read(ref _successCount), Interlocked.Read(ref _successNs)),
        new(Interlocked.Read(ref _failCount), Interlocked.Read(ref _failNs)),
        new(Interlocked.Read(ref _queueCount), Interlocked.Read(ref _queueNs)),
        new(Interlocked.Read(ref _inputCount), Interlocked.Read(ref _inputNs)),
        new(Interlocked.Read(ref _inferCount), Interlocked.Read(ref _inferNs)),
        new(Interlocked.Read(ref _outputCount), Interlocked.Read(ref _outputNs)),
        new(Interlocked.Read(ref _cacheHitCount), Interlocked.Read(ref _cacheHitNs)),
        new(Interlocked.Read(ref _cacheMissCount), Interlocked.Read(ref _cacheMissNs)),
        Interlocked.Read(ref _costCpuNs));

    /// <summary>
    /// Records one successful request of <paramref name="batchSize"/> rows that ran in one engine execution.
    /// Durations are Stopwatch ticks; <paramref name="cpuNs"/> is the engine run's CPU time (the cost).
    /// </summary>
    public void RecordSuccess(long batchSize, long totalTicks, long queueTicks, long inputTicks, long inferTicks, long outputTicks, long cpuNs)
    {
        RecordRequest(batchSize, totalTicks, queueTicks, inputTicks, inferTicks, outputTicks);
        RecordExecution(batchSize, inputTicks, inferTicks, outputTicks, cpuNs);
    }

    /// <summary>
    /// Records one successful request of <paramref name="batchSize"/> rows without counting an engine execution:
    /// under dynamic batching several requests share one execution, recorded once by <see cref="RecordExecution"/>.
    /// </summary>
    public void RecordRequest(long batchSize, long totalTicks, long queueTicks, long inputTicks, long inferTicks, long outputTicks)
    {
        totals?.RecordRequest(batchSize, totalTicks, queueTicks, inputTicks, inferTicks, outputTicks);
        Interlocked.Increment(ref _successCount);
        Interlocked.Add(ref _successNs, ToNs(totalTicks));
        Interlocked.Increment(ref _queueCount);
        Interlocked.Add(ref _queueNs, ToNs(queueTicks));
        Interlocked.Increment(ref _inputCount);
        Interlocked.Add(ref _inputNs, ToNs(inputTicks));
        Interlocked.Increment(ref _inferCount);
        Interlocked.Add(ref _inferNs, ToNs(inferTicks));
        Interlocked.Increment(ref _outputCount);
        Interlocked.Add(ref _outputNs, ToNs(outputTicks));
        Interlocked.Add(ref _inferenceCount, batchSize);
        Interlocked.Exchange(ref _lastInferenceMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    /// <summary>
    /// One engine execution of <paramref name="batchSize"/> rows (Triton's execution_count and batch_stats). Durations are
    /// Stopwatch ticks; <paramref name="cpuNs"/> is the run's engine CPU time, counted once however many requests shared it.
    /// </summary>
    public void RecordExecution(long batchSize, long inputTicks, long inferTicks, long outputTicks, long cpuNs)
    {
        totals?.RecordExecution(batchSize, inputTicks, inferTicks, outputTicks, cpuNs);
        Interlocked.Increment(ref _executionCount);
        Interlocked.Add(ref _costCpuNs, cpuNs);
        var counter = _batches.GetOrAdd(batchSize, static _ => new BatchCounter());
        Interlocked.Increment(ref counter.Count);
        Interlocked.Add(ref counter.InputNs, ToNs(inputTicks));
        Interlocked.Add(ref counter.InferNs, ToNs(inferTicks));
        Interlocked.Add(ref counter.OutputNs, ToNs(outputTicks));
    }

    /// <summary>
    /// One request answered from the response cache: a success (Triton counts it there too) that neither ran the engine
    /// nor counts in inference_count; <paramref name="lookupTicks"/> went to the lookup (Triton's cache_hit duration).
    /// </summary>
    public void RecordCacheHit(long totalTicks, long lookupTicks)
    {
        totals?.RecordCacheHit(totalTicks, lookupTicks);
        Interlocked.Increment(ref _successCount);
        Interlocked.Add(ref _successNs, ToNs(totalTicks));
        Interlocked.Increment(ref _cacheHitCount);
        Interlocked.Add(ref _cacheHitNs, ToNs(lookupTicks));
        Interlocked.Exchange(ref _lastInferenceMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    /// <summary>One response cache miss (the request then runs); <paramref name="lookupTicks"/> went to the lookup.</summary>
    public void RecordCacheMiss(long lookupTicks)
    {
        totals?.RecordCacheMiss(lookupTicks);
        Interlocked.Increment(ref _cacheMissCount);
        Interlocked.Add(ref _cacheMissNs, ToNs(lookupTicks));
    }

    /// <summary>Time spent inserting a missed request's computed response: Triton counts it in the cache_miss duration.</summary>
    public void RecordCacheInsert(long ticks)
    {
        totals?.RecordCacheInsert(ticks);
        Interlocked.Add(ref _cacheMissNs, ToNs(ticks));
    }

    /// <summary>Executions per batch size, smallest size first (Triton's <c>batch_stats</c>).</summary>
    public IReadOnlyList<BatchStatistic> BatchStatistics()
    {
        var list = new List<BatchStatistic>(_batches.Count);
        foreach (var (size, c) in _batches)
        {
            var count = Interlocked.Read(ref c.Count);
            list.Add(new BatchStatistic(size, new(count, Interlocked.Read(ref c.InputNs)), new(count, Interlocked.Read(ref c.InferNs)), new(count, Interlocked.Read(ref c.OutputNs))));
        }

        list.Sort(static (a, b) => a.BatchSize.CompareTo(b.BatchSize));
        return list;
    }

    /// <summary>Failed requests by <see cref="FailureReason"/> (Triton's <c>reason</c> label).</summary>
    public long Failures(FailureReason reason) => Interlocked.Read(ref _failuresByReason[(int)reason]);

    /// <summary>Records one failed request and the time it took to fail.</summary>
    public void RecordFailure(FailureReason reason, long totalTicks)
    {
        totals?.RecordFailure(reason, totalTicks);
        Interlocked.Increment(ref _failuresByReason[(int)reason]);
        Interlocked.Increment(ref _failCount);
        Interlocked.Add(ref _failNs, ToNs(totalTicks));
        Interlocked.Exchange(ref _lastInferenceMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    private static long ToNs(long ticks) => (long)(ticks * (1_000_000_000.0 / Stopwatch.Frequency));
}

/// <summary>Executions of one batch size and their compute durations.</summary>
public sealed record BatchStatistic(long BatchSize, DurationStatistic ComputeInput, DurationStatistic ComputeInfer, DurationStatistic ComputeOutput);

internal sealed class BatchCounter
{
    public long Count;
    public long InputNs;
    public long InferNs;
    public long OutputNs;
}

/// <summary>Why a request failed, as Triton's <c>nv_inference_request_failure</c> labels it.</summary>
public enum FailureReason
{
    /// <summary>Refused before running: model unavailable, queue full, timed out in the queue.</summary>
    Rejected,

    /// <summary>The client went away or cancelled.</summary>
    Canceled,

    /// <summary>The engine failed while running the model.</summary>
    Backend,

    /// <summary>Anything else, chiefly invalid requests.</summary>
    Other,
}

/// <summary>A count and the total nanoseconds it took.</summary>
public readonly record struct DurationStatistic(long Count, long Ns);

/// <summary>
/// A copy of <see cref="ModelStatistics"/> with Triton's field names; <see cref="CostCpuNs"/> is Pronto's: the engine CPU
/// time of every execution (<see cref="Inference.CpuClock"/>).
/// </summary>
public sealed record ModelStatisticsSnapshot(
    long LastInferenceMs,
    long InferenceCount,
    long ExecutionCount,
    DurationStatistic Success,
    DurationStatistic Fail,
    DurationStatistic Queue,
    DurationStatistic ComputeInput,
    DurationStatistic ComputeInfer,
    DurationStatistic ComputeOutput,
    DurationStatistic CacheHit,
    DurationStatistic CacheMiss,
    long CostCpuNs)
{
    /// <summary>Engine CPU seconds of every execution.</summary>
    public double CostCpuSeconds => CostCpuNs / 1e9;

    /// <summary>Engine CPU seconds per 1,000 inferences (rows the engine ran; cache hits are not inferences); 0 before the first.</summary>
    public double CostCpuSecondsPer1000Inferences => InferenceCount > 0 ? CostCpuSeconds * 1000 / InferenceCount : 0;
}
