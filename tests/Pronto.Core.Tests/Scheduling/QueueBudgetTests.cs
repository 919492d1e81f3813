using Microsoft.Extensions.Time.Testing;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Core.Scheduling;
using Pronto.Core.Tensors;

namespace Pronto.Core.Tests.Scheduling;

/// <summary>
/// Overload shedding (issue 16 item 3): with a queue-wait budget, a request whose wait, estimated from the measured run
/// time, exceeds the budget is refused at once (Unavailable, Retry-After), and an admitted one still waiting when the
/// budget runs out is refused then. Runs are held open by the fake engine's gates; time is fake, so each "run" takes
/// exactly the time the test advances while it is held.
/// </summary>
public sealed class QueueBudgetTests : IAsyncDisposable, IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Budget = TimeSpan.FromMilliseconds(100);
    private readonly FakeTimeProvider _time = new();
    private readonly FakeInstance _engine = new();
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-budget-").FullName;
    private DynamicBatcher? _batcher;

    private static ModelConfig Config(int instances = 1, Action<ModelConfig>? configure = null)
    {
        var config = new ModelConfig
        {
            Name = "fake",
            MaxBatchSize = 1,
            Inputs = [new TensorConfig { Name = "x", DataType = DataType.FP32, Dims = [1] }],
            Outputs = [new TensorConfig { Name = "y", DataType = DataType.FP32, Dims = [1] }],
            DynamicBatching = new DynamicBatchingConfig(),
            InstanceGroups = [new InstanceGroup(instances)],
        };
        config.Parameters[DynamicBatcher.EagerKey] = "true";
        configure?.Invoke(config);
        return config;
    }

    private Task<BatchedRun> Enqueue(float value) =>
        _batcher!.EnqueueAsync([new NamedTensor("x", Tensor.Create([value], 1, 1))], ["y"], new Dictionary<string, object>(), CancellationToken.None);

    // One held run of 50 ms: the budget's estimate becomes 50 ms per row.
    private async Task MeasureOneRunOf50MsAsync(Func<float, Task> start)
    {
        var gate = _engine.Gate(1);
        var first = start(1);
        Assert.True(await _engine.Started.WaitAsync(Guard));
        _time.Advance(TimeSpan.FromMilliseconds(50));
        gate.Release();
        await first.WaitAsync(Guard);
    }

    [Fact]
    public async Task The_batcher_refuses_at_once_what_would_wait_past_the_budget_and_times_out_what_still_waits()
    {
        var config = Config();
        var budget = QueueBudget.For(config, Budget, _time)!;
        _batcher = new DynamicBatcher(config, _engine, new ModelStatistics(), _time, CpuClock.None, budget);
        Assert.Null(budget.EstimatedWait(10)); // nothing measured yet: only the timeout applies
        await MeasureOneRunOf50MsAsync(Enqueue);
        Assert.Equal(TimeSpan.FromMilliseconds(100), budget.EstimatedWait(2));

        // The instance is busy with run 2; 3 waits behind nothing, 4 behind 50 ms, 5 behind 100 ms (the budget, admitted).
        var held = _engine.Gate(2);
        var running = Enqueue(2);
        Assert.True(await _engine.Started.WaitAsync(Guard));
        var waiting = new[] { Enqueue(3), Enqueue(4), Enqueue(5) };

        // 6 would wait 150 ms: refused before it queues, with the wait as Retry-After (at least a second).
        var refused = Assert.Throws<ProntoException>(() => { _ = Enqueue(6); });
        Assert.Equal(ErrorCode.Unavailable, refused.Code);
        Assert.Equal(1, refused.RetryAfterSeconds);
        Assert.Equal("model 'fake' is overloaded: about 150 ms of work waits ahead of this request, over its queue-wait budget of 100 ms; retry later", refused.Message);
        Assert.Equal(3, _batcher.QueueLength);

        // The budget runs out with run 2 still going: every waiting request is refused, none ran.
        _time.Advance(Budget);
        foreach (var w in waiting)
        {
            var e = await Assert.ThrowsAsync<ProntoException>(() => w.WaitAsync(Guard));
            Assert.Equal(ErrorCode.Unavailable, e.Code);
            Assert.Equal(1, e.RetryAfterSeconds);
            Assert.Equal("inference request for model 'fake' waited its queue-wait budget of 100 ms without a free instance; retry later", e.Message);
        }

        Assert.Equal(0, _batcher.QueueLength);
        held.Release();
        Assert.Equal(new[] { 3f }, (await running.WaitAsync(Guard)).Outputs[0].Tensor.ToArray<float>());
        Assert.Equal(new[] { 1f, 2f }, _engine.Runs.Select(r => r.First));

        // Room again: a new request is admitted and runs.
        Assert.Equal(new[] { 8f }, (await Enqueue(7).WaitAsync(Guard)).Outputs[0].Tensor.ToArray<float>());
    }

    [Fact]
    public void The_estimate_divides_the_wait_by_the_instances()
    {
        var config = Config(instances: 2);
        var budget = QueueBudget.For(config, Budget, _time)!;
        var started = _time.GetTimestamp() - (long)(0.05 * _time.TimestampFrequency);
        budget.RecordRun(1, started, started);
        Assert.Equal(TimeSpan.FromMilliseconds(75), budget.EstimatedWait(3));
        budget.Admit(4); // 100 ms: at the budget, admitted
        Assert.Throws<ProntoException>(() => budget.Admit(5));

        // A moving average: a second run of 150 ms moves 50 ms per row a quarter of the way, to 75.
        started = _time.GetTimestamp() - (long)(0.15 * _time.TimestampFrequency);
        budget.RecordRun(1, started, started);
        Assert.Equal(TimeSpan.FromMilliseconds(75), budget.EstimatedWait(2));
    }

    [Fact]
    public void A_back_to_back_run_counts_the_gap_since_the_last_run_and_one_after_an_idle_spell_does_not()
    {
        var budget = QueueBudget.For(Config(), Budget, _time)!;
        long Ms(double ms) => (long)(ms / 1000 * _time.TimestampFrequency);
        var t0 = _time.GetTimestamp();

        // Run 1: 10 ms, from 0 to 10.
        _time.Advance(TimeSpan.FromMilliseconds(10));
        budget.RecordRun(1, t0, t0);
        Assert.Equal(40, budget.EstimatedWait(4)!.Value.TotalMilliseconds, 6);

        // Run 2's work queued at 5, before run 1 ended, but it started only at 30 (forming the batch, the server's
        // other work on the core) and ran 10 ms: the queue drained one row in 30 ms. 10 + (30 - 10) / 4 = 15 per row.
        _time.Advance(TimeSpan.FromMilliseconds(30));
        budget.RecordRun(1, t0 + Ms(30), t0 + Ms(5));
        Assert.Equal(60, budget.EstimatedWait(4)!.Value.TotalMilliseconds, 6);

        // Run 3's work arrived at 100, after an idle spell, and ran 10 ms: only the run counts. 15 + (10 - 15) / 4.
        _time.Advance(TimeSpan.FromMilliseconds(70));
        budget.RecordRun(1, t0 + Ms(100), t0 + Ms(100));
        Assert.Equal(55, budget.EstimatedWait(4)!.Value.TotalMilliseconds, 6);
    }

    [Fact]
    public void The_model_setting_wins_then_triton_s_timeout_then_the_server_default()
    {
        Assert.Equal(Budget, QueueBudget.For(Config(), Budget, _time)!.Budget);
        Assert.Null(QueueBudget.For(Config(), null, _time));
        Assert.Null(QueueBudget.For(Config(), TimeSpan.Zero, _time));
        Assert.Equal(TimeSpan.FromMilliseconds(30), QueueBudget.For(Config(configure: c => c.DynamicBatching!.DefaultQueuePolicy.DefaultTimeoutMicroseconds = 30_000), Budget, _time)!.Budget);
        Assert.Equal(TimeSpan.FromMilliseconds(250), QueueBudget.For(Config(configure: c => c.Parameters[ProntoParameters.QueueWaitBudgetMs] = "250"), Budget, _time)!.Budget);
        Assert.Null(QueueBudget.For(Config(configure: c => c.Parameters[ProntoParameters.QueueWaitBudgetMs] = "0"), Budget, _time));
    }

    [Fact]
    public void A_bad_budget_in_a_config_fails_the_load_naming_the_key()
    {
        var config = Config(configure: c => c.Parameters[ProntoParameters.QueueWaitBudgetMs] = "-5");
        var e = Assert.Throws<ProntoException>(() => ProntoParameters.Validate(config));
        Assert.Equal("model 'fake': config parameter 'pronto.queue_wait_budget_ms' must be a whole number of milliseconds (0: no budget), got '-5'", e.Message);
    }

    [Fact]
    public async Task Without_a_batcher_the_instance_wait_is_bounded_the_same_way()
    {
        var dir = Path.Combine(_root, "slow");
        Directory.CreateDirectory(Path.Combine(dir, "1"));
        File.WriteAllText(Path.Combine(dir, "1", "model.fake"), "");
        File.WriteAllText(Path.Combine(dir, "config.pbtxt"), """
            name: "slow"
            platform: "fake"
            max_batch_size: 8
            input [ { name: "x" data_type: TYPE_FP32 dims: [ 1 ] } ]
            output [ { name: "y" data_type: TYPE_FP32 dims: [ 1 ] } ]
            """);
        var repository = new ModelRepository(_root, [new FakeBackend(_engine)], time: _time);
        repository.Load("slow");
        var service = new InferenceService(repository) { QueueWaitBudget = Budget };
        Task<InferenceResponse> Infer(float value) =>
            service.InferAsync(new InferenceRequest { ModelName = "slow", Inputs = [new NamedTensor("x", Tensor.Create([value], 1, 1))] });

        await MeasureOneRunOf50MsAsync(v => Task.Run(() => Infer(v)));
        var held = _engine.Gate(2);
        var running = Task.Run(() => Infer(2));
        Assert.True(await _engine.Started.WaitAsync(Guard));
        var waiting = new[] { Infer(3), Infer(4), Infer(5) };
        Assert.DoesNotContain(waiting, t => t.IsCompleted);

        var refused = await Assert.ThrowsAsync<ProntoException>(() => Infer(6));
        Assert.Equal(1, refused.RetryAfterSeconds);
        Assert.Equal("model 'slow' is overloaded: about 150 ms of work waits ahead of this request, over its queue-wait budget of 100 ms; retry later", refused.Message);

        _time.Advance(Budget);
        foreach (var w in waiting)
        {
            var e = await Assert.ThrowsAsync<ProntoException>(() => w.WaitAsync(Guard));
            Assert.Equal("inference request for model 'slow' waited its queue-wait budget of 100 ms without a free instance; retry later", e.Message);
        }

        held.Release();
        Assert.Equal(new[] { 3f }, (await running.WaitAsync(Guard)).Outputs[0].Tensor.ToArray<float>());
        Assert.Equal(new[] { 1f, 2f }, _engine.Runs.Select(r => r.First));
        Assert.Equal(new[] { 8f }, (await Infer(7).WaitAsync(Guard)).Outputs[0].Tensor.ToArray<float>());
    }

    public async ValueTask DisposeAsync()
    {
        if (_batcher is not null)
        {
            await _batcher.DisposeAsync();
        }

        Dispose();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
