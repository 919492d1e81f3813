using Microsoft.Extensions.Time.Testing;
using Pronto.Core.Backends;
using Pronto.Core.Configuration;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Core.Tests.Scheduling;
using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.Core.Tests.Inference;

/// <summary>
/// The engine's cost: the CPU clock's reading around each engine run, summed per load and per version lifetime, and each
/// request's share. A fake clock that the fake engine advances makes the expected totals exact.
/// </summary>
public sealed class CostTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-cost-").FullName;

    /// <summary>What the fake engine charges a run: 1 ms per row plus 7 us, so sizes and sums are told apart.</summary>
    private static long CostOf(long rows) => (1_000_000 * rows) + 7_000;

    private ModelRepository FakeRepository(FakeCpuClock clock, string extra = "")
    {
        var dir = Path.Combine(_root, "m");
        Directory.CreateDirectory(Path.Combine(dir, "1"));
        File.WriteAllText(Path.Combine(dir, "1", "model.fake"), "");
        File.WriteAllText(Path.Combine(dir, "config.pbtxt"), $"""
            name: "m"
            platform: "fake"
            max_batch_size: 8
            input [ {"{"} name: "x" data_type: TYPE_FP32 dims: [ 1 ] {"}"} ]
            output [ {"{"} name: "y" data_type: TYPE_FP32 dims: [ 1 ] {"}"} ]
            {extra}
            """);
        var repository = new ModelRepository(_root, [new ChargingBackend(new ChargingInstance(new FakeInstance(), clock))]);
        repository.Load("m");
        return repository;
    }

    private static InferenceRequest Request(params float[] rows) =>
        new() { ModelName = "m", Inputs = [new NamedTensor("x", Tensor.Create(rows, rows.Length, 1))] };

    [Fact]
    public async Task Every_run_s_engine_cpu_is_counted_exactly_in_the_load_the_lifetime_and_the_response()
    {
        var clock = new FakeCpuClock();
        using var repository = FakeRepository(clock);
        var service = new InferenceService(repository, cpuClock: clock);

        var sizes = new[] { 1, 3, 8, 2 };
        long expected = 0;
        foreach (var rows in sizes)
        {
            var response = rows % 2 == 0 ? service.InferDirect(Request(new float[rows])) : await service.InferAsync(Request(new float[rows]));
            Assert.Equal(TimeSpan.FromTicks(CostOf(rows) / 100), response.EngineCpuTime);
            expected += CostOf(rows);
        }

        // A failed request never reached the engine: no cost.
        Assert.ThrowsAny<Exception>(() => service.InferDirect(Request(new float[9])));

        using (var lease = repository.Acquire("m"))
        {
            var s = lease.Model.Statistics.Snapshot();
            Assert.Equal(expected, s.CostCpuNs);
            Assert.Equal(expected / 1e9, s.CostCpuSeconds);
            Assert.Equal(14, s.InferenceCount);
            Assert.Equal(expected / 1e9 * 1000 / 14, s.CostCpuSecondsPer1000Inferences, 12);
        }

        // A reload restarts the load's statistics; the lifetime totals (the Prometheus counter) keep counting.
        repository.Load("m");
        service.InferDirect(Request(1f));
        using (var lease = repository.Acquire("m"))
        {
            Assert.Equal(CostOf(1), lease.Model.Statistics.Snapshot().CostCpuNs);
        }

        var lifetime = Assert.Single(repository.LifetimeStatistics());
        Assert.Equal(expected + CostOf(1), lifetime.Statistics.Snapshot().CostCpuNs);
    }

    [Fact]
    public async Task A_batched_execution_is_charged_once_and_each_request_pays_its_share_of_the_rows()
    {
        // A real ONNX engine (y = x + 1) under dynamic batching; the clock steps 600 us per reading, so one run costs 600 us.
        TinyModels.WriteAddConstant(_root, "adder", 1f, 3);
        File.WriteAllText(Path.Combine(_root, "adder", "config.pbtxt"), """
            max_batch_size: 8
            input [ { name: "x" data_type: TYPE_FP32 dims: [ 3 ] } ]
            output [ { name: "y" data_type: TYPE_FP32 dims: [ 3 ] } ]
            dynamic_batching { max_queue_delay_microseconds: 100 }
            """);
        var time = new FakeTimeProvider();
        using var repository = new ModelRepository(_root, [new OnnxBackend()], time: time);
        repository.Load("adder");
        var clock = new SteppingCpuClock(600_000);
        var service = new InferenceService(repository, cpuClock: clock);

        var tasks = new[] { 1, 3, 2 }.Select(rows => service.InferAsync(new InferenceRequest
        {
            ModelName = "adder",
            Inputs = [new NamedTensor("x", Tensor.Create(new float[rows * 3], rows, 3))],
        })).ToArray();
        time.Advance(TimeSpan.FromMicroseconds(100));
        var responses = await Task.WhenAll(tasks).WaitAsync(Guard);

        Assert.Equal([1_000, 3_000, 2_000], responses.Select(r => r.EngineCpuTime.Ticks));
        using var lease = repository.Acquire("adder");
        var s = lease.Model.Statistics.Snapshot();
        Assert.Equal(1, s.ExecutionCount);
        Assert.Equal(600_000, s.CostCpuNs);
    }

    [Fact]
    public void The_thread_cpu_clock_moves_with_work_done_on_the_calling_thread()
    {
        var before = CpuClock.Thread.GetThreadCpuNanoseconds();
        var x = 1UL;
        for (var i = 0; i < 5_000_000; i++)
        {
            x = (x * 6364136223846793005UL) + 1442695040888963407UL;
        }

        var after = CpuClock.Thread.GetThreadCpuNanoseconds();
        Assert.NotEqual(0UL, x | 1);
        Assert.True(before > 0, "the thread CPU clock reads 0 on Linux");
        Assert.True(after > before, $"{after} <= {before}");
    }

    [Fact]
    public void A_sampled_clock_reads_cpu_on_one_run_in_n_and_costs_the_others_by_the_models_cpu_per_wall_ratio()
    {
        var cpu = new FakeCpuClock();
        var wall = new FakeTimeProvider();
        var server = CpuClock.Sampled(4, cpu, wall);
        var model = server.ForModel();
        var other = server.ForModel();

        long Run(CpuClock clock, long cpuNs, TimeSpan elapsed)
        {
            var begin = clock.Begin();
            cpu.Advance(cpuNs);
            wall.Advance(elapsed);
            return clock.End(begin);
        }

        // Run 1 of 4 is read: 30 us of CPU in 40 us of wall time.
        Assert.Equal(30_000, Run(model, 30_000, TimeSpan.FromMicroseconds(40)));

        // Runs 2-4 are not: 80 us of wall at 0.75 CPU per wall second, whatever the CPU clock did.
        Assert.Equal([60_000, 60_000, 60_000], [Run(model, 1, TimeSpan.FromMicroseconds(80)), Run(model, 2, TimeSpan.FromMicroseconds(80)), Run(model, 3, TimeSpan.FromMicroseconds(80))]);

        // Run 5 is read again (10 us in 40 us); the ratio is now 40 / 80 over both readings.
        Assert.Equal(10_000, Run(model, 10_000, TimeSpan.FromMicroseconds(40)));
        Assert.Equal(50_000, Run(model, 7, TimeSpan.FromMicroseconds(100)));

        // Another model keeps its own count and ratio: its first run is read.
        Assert.Equal(5_000, Run(other, 5_000, TimeSpan.FromMicroseconds(20)));
        Assert.Equal(25_000, Run(other, 9, TimeSpan.FromMicroseconds(100)));
    }

    [Fact]
    public void Sampling_every_run_is_the_thread_clock_itself()
    {
        Assert.Same(CpuClock.Thread, CpuClock.Sampled(1));
        Assert.Same(CpuClock.Thread, CpuClock.Thread.ForModel());
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuClock.Sampled(0));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>A CPU clock only the fake engine moves.</summary>
    private sealed class FakeCpuClock : CpuClock
    {
        private long _now = 1_000_000_000;

        public void Advance(long ns) => Interlocked.Add(ref _now, ns);

        public override long GetThreadCpuNanoseconds() => Interlocked.Read(ref _now);
    }

    /// <summary>
    /// A per-thread clock that moves <paramref name="step"/> ns per reading on the reading thread, as a thread CPU clock
    /// moves only with its own thread: one reading before and one after a run, so each run costs exactly one step.
    /// </summary>
    private sealed class SteppingCpuClock(long step) : CpuClock
    {
        private readonly ThreadLocal<long> _now = new();

        public override long GetThreadCpuNanoseconds() => _now.Value += step;
    }

    /// <summary>The scheduler tests' engine, charging <see cref="CostOf"/> on the fake clock for each run.</summary>
    private sealed class ChargingInstance(FakeInstance inner, FakeCpuClock clock) : IModelInstance
    {
        public IReadOnlyList<NamedTensor> Run(IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string> outputNames, CancellationToken cancellationToken)
        {
            clock.Advance(CostOf(inputs[0].Tensor.Shape[0]));
            return inner.Run(inputs, outputNames, cancellationToken);
        }

        public void Dispose()
        {
        }
    }

    private sealed class ChargingBackend(IModelInstance instance) : IModelBackend
    {
        public string Platform => "fake";

        public string DefaultModelFilename => "model.fake";

        public bool Accepts(ModelConfig config) => config.Platform == "fake";

        public ModelConfig DeriveConfig(string name, string modelPath) => throw new NotSupportedException();

        public IModelInstance Load(ModelConfig config, string modelPath, CancellationToken cancellationToken) => instance;
    }
}
