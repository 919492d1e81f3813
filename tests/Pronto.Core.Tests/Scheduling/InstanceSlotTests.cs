using Pronto.Core.Backends;
using Pronto.Core.Configuration;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;

namespace Pronto.Core.Tests.Scheduling;

/// <summary>
/// Without <c>dynamic_batching</c>, InferenceService.InferAsync runs <c>instance_group</c>'s count of requests at once
/// (Triton's default scheduler); the others wait, cancellably, and start as a run ends. A request that finds a free
/// instance runs on the caller's thread before InferAsync returns, so "not completed" below means "waiting".
/// </summary>
public sealed class InstanceSlotTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-slots-").FullName;
    private readonly FakeInstance _engine = new();

    private InferenceService Serve(int? instances)
    {
        var dir = Path.Combine(_root, "slow");
        Directory.CreateDirectory(Path.Combine(dir, "1"));
        File.WriteAllText(Path.Combine(dir, "1", "model.fake"), "");
        var group = instances is { } count ? $"instance_group [ {{ count: {count} kind: KIND_CPU }} ]" : "";
        File.WriteAllText(Path.Combine(dir, "config.pbtxt"), $$"""
            name: "slow"
            platform: "fake"
            max_batch_size: 8
            input [ { name: "x" data_type: TYPE_FP32 dims: [ 1 ] } ]
            output [ { name: "y" data_type: TYPE_FP32 dims: [ 1 ] } ]
            {{group}}
            """);
        var repository = new ModelRepository(_root, [new FakeBackend(_engine)]);
        repository.Load("slow");
        return new InferenceService(repository);
    }

    private static InferenceRequest Request(float value) =>
        new() { ModelName = "slow", Inputs = [new NamedTensor("x", Tensor.Create([value], 1, 1))] };

    [Fact]
    public async Task One_instance_by_default_a_second_request_waits_for_the_first_run_then_runs()
    {
        var service = Serve(instances: null);
        var gate = _engine.Gate(1);
        var first = Task.Run(() => service.InferAsync(Request(1)));
        Assert.True(await _engine.Started.WaitAsync(Guard));

        var second = service.InferAsync(Request(2));
        Assert.False(second.IsCompleted);
        Assert.Single(_engine.Runs);

        gate.Release();
        var responses = await Task.WhenAll(first, second).WaitAsync(Guard);
        Assert.Equal([2f], responses[0].Outputs[0].Tensor.ToArray<float>());
        Assert.Equal([3f], responses[1].Outputs[0].Tensor.ToArray<float>());
        Assert.Equal([1f, 2f], _engine.Runs.Select(r => r.First));
    }

    [Fact]
    public async Task Two_instances_run_two_requests_at_once_and_a_third_waits()
    {
        var service = Serve(instances: 2);
        var gateA = _engine.Gate(1);
        var gateB = _engine.Gate(2);
        var a = Task.Run(() => service.InferAsync(Request(1)));
        var b = Task.Run(() => service.InferAsync(Request(2)));
        Assert.True(await _engine.Started.WaitAsync(Guard));
        Assert.True(await _engine.Started.WaitAsync(Guard));

        var c = service.InferAsync(Request(3));
        Assert.False(c.IsCompleted);
        Assert.Equal(2, _engine.Runs.Count);

        gateB.Release();
        var third = await c.WaitAsync(Guard);
        Assert.Equal([4f], third.Outputs[0].Tensor.ToArray<float>());
        Assert.False(a.IsCompleted);
        gateA.Release();
        await Task.WhenAll(a, b).WaitAsync(Guard);
        Assert.Equal(3, _engine.Runs.Count);
    }

    [Fact]
    public async Task A_request_cancelled_while_it_waits_never_runs_and_counts_as_canceled()
    {
        var service = Serve(instances: 1);
        var gate = _engine.Gate(1);
        var first = Task.Run(() => service.InferAsync(Request(1)));
        Assert.True(await _engine.Started.WaitAsync(Guard));

        using var cts = new CancellationTokenSource();
        var waiting = service.InferAsync(Request(2), cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Guard));

        gate.Release();
        await first.WaitAsync(Guard);
        Assert.Equal([1f], _engine.Runs.Select(r => r.First));
        using var lease = service.Repository.Acquire("slow");
        var stats = lease.Model.Statistics.Snapshot();
        Assert.Equal(1, stats.Success.Count);
        Assert.Equal(1, stats.Queue.Count);
        Assert.Equal(1, stats.Fail.Count);
        Assert.Equal(1, lease.Model.Statistics.Failures(FailureReason.Canceled));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
