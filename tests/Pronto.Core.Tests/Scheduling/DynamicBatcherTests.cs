using Microsoft.Extensions.Time.Testing;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Core.Scheduling;
using Pronto.Core.Tensors;

namespace Pronto.Core.Tests.Scheduling;

/// <summary>
/// The dynamic batcher on fake time with a fake engine: batch formation, the queue policy, priorities,
/// cancellation and ordering. Runs are held open with gates; nothing sleeps.
/// </summary>
public sealed class DynamicBatcherTests : IAsyncDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private static readonly IReadOnlyDictionary<string, object> NoParameters = new Dictionary<string, object>();
    private readonly FakeTimeProvider _time = new();
    private readonly FakeInstance _engine = new();
    private DynamicBatcher? _batcher;

    private DynamicBatcher Start(int maxBatch, long delayUs, Action<DynamicBatchingConfig>? configure = null, int instances = 1, bool eager = false)
    {
        var batching = new DynamicBatchingConfig { MaxQueueDelayMicroseconds = delayUs };
        configure?.Invoke(batching);
        var config = new ModelConfig
        {
            Name = "fake",
            MaxBatchSize = maxBatch,
            Inputs = [new TensorConfig { Name = "x", DataType = DataType.FP32, Dims = [2] }],
            Outputs = [new TensorConfig { Name = "y", DataType = DataType.FP32, Dims = [2] }],
            DynamicBatching = batching,
            InstanceGroups = [new InstanceGroup(instances)],
        };
        if (eager)
        {
            config.Parameters[DynamicBatcher.EagerKey] = "true";
        }

        _batcher = new DynamicBatcher(config, _engine, new ModelStatistics(), _time);
        return _batcher;
    }

    private static IReadOnlyList<NamedTensor> Rows(int n, float value)
    {
        var values = new float[n * 2];
        Array.Fill(values, value);
        return [new NamedTensor("x", Tensor.Create(values, n, 2))];
    }

    private Task<BatchedRun> Enqueue(int rows, float value, CancellationToken cancellationToken = default, IReadOnlyDictionary<string, object>? parameters = null) =>
        _batcher!.EnqueueAsync(Rows(rows, value), ["y"], parameters ?? NoParameters, cancellationToken);

    private static async Task<float[]> Values(Task<BatchedRun> task) => (await task.WaitAsync(Guard)).Outputs[0].Tensor.ToArray<float>();

    [Fact]
    public async Task A_batch_forms_as_soon_as_it_reaches_max_batch_size()
    {
        Start(maxBatch: 4, delayUs: 1_000_000);
        var tasks = new[] { Enqueue(1, 1), Enqueue(1, 2), Enqueue(1, 3), Enqueue(1, 4) };

        var results = await Task.WhenAll(tasks).WaitAsync(Guard);

        Assert.Equal([(4L, 1f)], _engine.Runs);
        Assert.All(results, r => Assert.Equal(4, r.BatchSize));
        Assert.Equal([3f, 3f], results[1].Outputs[0].Tensor.ToArray<float>());
    }

    [Fact]
    public async Task A_partial_batch_waits_for_max_queue_delay_then_runs()
    {
        Start(maxBatch: 8, delayUs: 100);
        var tasks = new[] { Enqueue(1, 1), Enqueue(1, 2), Enqueue(1, 3) };
        _time.Advance(TimeSpan.FromMicroseconds(99));
        Assert.DoesNotContain(tasks, t => t.IsCompleted);

        _time.Advance(TimeSpan.FromMicroseconds(1));
        var results = await Task.WhenAll(tasks).WaitAsync(Guard);

        Assert.Equal([(3L, 1f)], _engine.Runs);
        Assert.All(results, r => Assert.Equal(TimeSpan.FromMicroseconds(100), r.QueueTime));
    }

    [Fact]
    public async Task Eager_batching_runs_a_lone_request_at_once_and_batches_what_arrives_during_the_run()
    {
        Start(maxBatch: 8, delayUs: 1_000_000, eager: true);
        _engine.Gate(1);
        var first = Enqueue(1, 1);

        // No time passes: the free instance takes the lone request without waiting for the delay.
        Assert.True(await _engine.Started.WaitAsync(Guard));
        var later = new[] { Enqueue(1, 2), Enqueue(2, 3), Enqueue(1, 4) };
        Assert.DoesNotContain(later, t => t.IsCompleted);

        _engine.Gate(1).Release();
        var firstValues = await Values(first);
        Assert.Equal([2f, 2f], firstValues);
        var results = await Task.WhenAll(later).WaitAsync(Guard);

        Assert.Equal([(1L, 1f), (4L, 2f)], _engine.Runs);
        Assert.All(results, r => Assert.Equal(4, r.BatchSize));
        Assert.Equal([4f, 4f, 4f, 4f], results[1].Outputs[0].Tensor.ToArray<float>());
    }

    [Fact]
    public async Task A_preferred_batch_size_runs_without_waiting_and_the_rest_waits()
    {
        Start(maxBatch: 8, delayUs: 1000, b => b.PreferredBatchSize.Add(2));
        var first = Enqueue(1, 1);
        var second = Enqueue(1, 2);
        var third = Enqueue(1, 3);

        await Task.WhenAll(first, second).WaitAsync(Guard);
        Assert.False(third.IsCompleted);
        _time.Advance(TimeSpan.FromMicroseconds(1000));
        await third.WaitAsync(Guard);

        Assert.Equal([(2L, 1f), (1L, 3f)], _engine.Runs);
    }

    [Fact]
    public async Task Requests_with_their_own_batch_dimension_combine_and_each_gets_exactly_its_rows()
    {
        Start(maxBatch: 8, delayUs: 100);
        var a = Enqueue(1, 10);
        var b = Enqueue(3, 20);
        var c = Enqueue(2, 30);
        _time.Advance(TimeSpan.FromMicroseconds(100));

        Assert.Equal(new[] { 11f, 11f }, await Values(a));
        Assert.Equal(Enumerable.Repeat(21f, 6), await Values(b));
        Assert.Equal(Enumerable.Repeat(31f, 4), await Values(c));
        Assert.Equal(new[] { 2L, 2L }, (await c).Outputs[0].Tensor.Shape.ToArray());
        Assert.Equal([(6L, 10f)], _engine.Runs);
    }

    [Fact]
    public async Task A_request_that_does_not_fit_waits_for_the_next_batch()
    {
        Start(maxBatch: 4, delayUs: 100);
        var a = Enqueue(3, 1);
        var b = Enqueue(2, 2);

        await a.WaitAsync(Guard);
        Assert.False(b.IsCompleted);
        _time.Advance(TimeSpan.FromMicroseconds(100));
        await b.WaitAsync(Guard);

        Assert.Equal([(3L, 1f), (2L, 2f)], _engine.Runs);
    }

    [Fact]
    public async Task A_full_queue_rejects_with_unavailable_and_a_retry_hint()
    {
        Start(maxBatch: 8, delayUs: 1000, b => b.DefaultQueuePolicy.MaxQueueSize = 2);
        var waiting = new[] { Enqueue(1, 1), Enqueue(1, 2) };

        var error = Assert.Throws<ProntoException>(() => { _ = Enqueue(1, 3); });

        Assert.Equal(ErrorCode.Unavailable, error.Code);
        Assert.Contains("exceeds maximum queue size", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, error.RetryAfterSeconds);
        _time.Advance(TimeSpan.FromMicroseconds(1000));
        await Task.WhenAll(waiting).WaitAsync(Guard);
        Assert.Equal(0, _batcher!.QueueLength);
    }

    [Fact]
    public async Task A_request_past_its_timeout_is_rejected_when_the_action_is_reject()
    {
        Start(maxBatch: 8, delayUs: 1000, b => b.DefaultQueuePolicy.AllowTimeoutOverride = true);
        var patient = Enqueue(1, 1);
        var hurried = Enqueue(1, 2, parameters: new Dictionary<string, object> { ["timeout"] = 10L });

        _time.Advance(TimeSpan.FromMicroseconds(10));
        var error = await Assert.ThrowsAsync<ProntoException>(() => hurried.WaitAsync(Guard));
        Assert.Equal(ErrorCode.Unavailable, error.Code);
        Assert.Contains("timed out in the queue", error.Message, StringComparison.Ordinal);
        Assert.False(patient.IsCompleted);

        _time.Advance(TimeSpan.FromMicroseconds(990));
        await patient.WaitAsync(Guard);
        Assert.Equal([(1L, 1f)], _engine.Runs);
    }

    [Fact]
    public async Task A_timed_out_request_goes_behind_the_others_when_the_action_is_delay()
    {
        Start(maxBatch: 1, delayUs: 0, b =>
        {
            b.PriorityLevels = 2;
            b.DefaultQueuePolicy.TimeoutAction = TimeoutAction.Delay;
            b.DefaultQueuePolicy.DefaultTimeoutMicroseconds = 50;
        });
        _engine.Gate(1);
        var running = Enqueue(1, 1);
        await _engine.Started.WaitAsync(Guard);
        var high = Enqueue(1, 2, parameters: new Dictionary<string, object> { ["priority"] = 1L });
        _time.Advance(TimeSpan.FromMicroseconds(50));
        var low = Enqueue(1, 3, parameters: new Dictionary<string, object> { ["priority"] = 2L });

        _engine.Gate(1).Release();
        await Task.WhenAll(running, high, low).WaitAsync(Guard);

        // The delayed high-priority request ran last, yet it ran: DELAY keeps it.
        Assert.Equal([1f, 3f, 2f], _engine.Runs.Select(r => r.First));
    }

    [Fact]
    public async Task Higher_priority_requests_run_first()
    {
        Start(maxBatch: 1, delayUs: 0, b => b.PriorityLevels = 2);
        _engine.Gate(1);
        var running = Enqueue(1, 1);
        await _engine.Started.WaitAsync(Guard);
        var low = Enqueue(1, 2, parameters: new Dictionary<string, object> { ["priority"] = 2L });
        var high = Enqueue(1, 3, parameters: new Dictionary<string, object> { ["priority"] = 1L });
        var unset = Enqueue(1, 4);

        _engine.Gate(1).Release();
        await Task.WhenAll(running, low, high, unset).WaitAsync(Guard);

        Assert.Equal([1f, 3f, 2f, 4f], _engine.Runs.Select(r => r.First));
    }

    [Fact]
    public async Task A_priority_outside_the_levels_is_an_invalid_argument()
    {
        Start(maxBatch: 1, delayUs: 0, b => b.PriorityLevels = 2);
        var error = Assert.Throws<ProntoException>(() => { _ = Enqueue(1, 1, parameters: new Dictionary<string, object> { ["priority"] = 3L }); });
        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task A_request_cancelled_while_queued_leaves_the_queue_and_never_runs()
    {
        Start(maxBatch: 8, delayUs: 1000);
        using var cts = new CancellationTokenSource();
        var cancelled = Enqueue(1, 1, cts.Token);

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Guard));
        Assert.Equal(0, _batcher!.QueueLength);

        var next = Enqueue(1, 2);
        _time.Advance(TimeSpan.FromMicroseconds(1000));
        await next.WaitAsync(Guard);
        Assert.Equal([(1L, 2f)], _engine.Runs);
    }

    [Fact]
    public async Task A_run_whose_callers_all_cancelled_is_terminated()
    {
        Start(maxBatch: 8, delayUs: 0);
        _engine.Gate(1);
        using var cts = new CancellationTokenSource();
        var task = Enqueue(1, 1, cts.Token);
        await _engine.Started.WaitAsync(Guard);

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task.WaitAsync(Guard));
        Assert.True(_engine.SawCancellation);
    }

    [Fact]
    public async Task A_run_goes_on_while_one_of_its_callers_still_waits()
    {
        Start(maxBatch: 2, delayUs: 1000);
        _engine.Gate(1);
        using var cts = new CancellationTokenSource();
        var gone = Enqueue(1, 1, cts.Token);
        var staying = Enqueue(1, 2);
        await _engine.Started.WaitAsync(Guard);

        await cts.CancelAsync();
        _engine.Gate(1).Release();

        Assert.Equal(new[] { 3f, 3f }, await Values(staying));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gone.WaitAsync(Guard));
        Assert.False(_engine.SawCancellation);
    }

    [Fact]
    public async Task Preserve_ordering_completes_responses_in_the_order_batches_formed()
    {
        Start(maxBatch: 1, delayUs: 0, b => b.PreserveOrdering = true, instances: 2);
        _engine.Gate(1);
        _engine.Gate(2);
        var first = Enqueue(1, 1);
        var second = Enqueue(1, 2);
        await _engine.Started.WaitAsync(Guard);
        await _engine.Started.WaitAsync(Guard);

        // Two instances: both run at once. The second finishes first but answers only after the first.
        _engine.Gate(2).Release();
        await _engine.Finished.WaitAsync(Guard);
        Assert.False(second.IsCompleted);
        Assert.False(first.IsCompleted);

        _engine.Gate(1).Release();
        Assert.Equal(new[] { 2f, 2f }, await Values(first));
        Assert.Equal(new[] { 3f, 3f }, await Values(second));
    }

    [Fact]
    public async Task Instance_count_bounds_concurrent_runs_and_requests_queue_behind_them()
    {
        Start(maxBatch: 4, delayUs: 0);
        _engine.Gate(1);
        var running = Enqueue(1, 1);
        await _engine.Started.WaitAsync(Guard);
        var waiting = new[] { Enqueue(1, 2), Enqueue(2, 2) };

        // One instance busy: the two wait and then run together as one batch of 3.
        Assert.Single(_engine.Runs);
        _engine.Gate(1).Release();
        await Task.WhenAll(waiting.Append(running)).WaitAsync(Guard);

        Assert.Equal([(1L, 1f), (3L, 2f)], _engine.Runs);
    }

    public async ValueTask DisposeAsync()
    {
        if (_batcher is not null)
        {
            await _batcher.DisposeAsync();
        }
    }
}
