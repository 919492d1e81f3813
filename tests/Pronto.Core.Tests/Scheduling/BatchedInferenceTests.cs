using Microsoft.Extensions.Time.Testing;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.Core.Tests.Scheduling;

/// <summary>InferenceService.InferAsync through the dynamic batcher on a real ONNX model (y = x + 1), on fake time.</summary>
public sealed class BatchedInferenceTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-batched-").FullName;
    private readonly ModelRepository _repository;
    private readonly FakeTimeProvider _time = new();
    private readonly InferenceService _service;

    public BatchedInferenceTests()
    {
        TinyModels.WriteAddConstant(_root, "adder", 1f, 3);
        File.WriteAllText(Path.Combine(_root, "adder", "config.pbtxt"), """
            max_batch_size: 8
            input [ { name: "x" data_type: TYPE_FP32 dims: [ 3 ] } ]
            output [ { name: "y" data_type: TYPE_FP32 dims: [ 3 ] } ]
            dynamic_batching { max_queue_delay_microseconds: 100 }
            """);
        _repository = new ModelRepository(_root, [new OnnxBackend()], time: _time);
        _repository.Load("adder");
        _service = new InferenceService(_repository);
    }

    private static InferenceRequest Request(int rows, float start)
    {
        var values = new float[rows * 3];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = start + i;
        }

        return new InferenceRequest { ModelName = "adder", Inputs = [new NamedTensor("x", Tensor.Create(values, rows, 3))] };
    }

    [Fact]
    public async Task Mixed_batch_sizes_run_once_and_each_caller_gets_exactly_its_rows_plus_c()
    {
        var requests = new[] { Request(1, 0), Request(3, 100), Request(2, 1000) };
        var tasks = requests.Select(r => _service.InferAsync(r)).ToArray();
        _time.Advance(TimeSpan.FromMicroseconds(100));
        var responses = await Task.WhenAll(tasks).WaitAsync(Guard);

        for (var i = 0; i < requests.Length; i++)
        {
            var input = requests[i].Inputs[0].Tensor;
            var output = responses[i].Outputs[0].Tensor;
            Assert.Equal(input.Shape.ToArray(), output.Shape.ToArray());
            Assert.Equal(input.ToArray<float>().Select(v => v + 1f), output.ToArray<float>());
            Assert.Equal(6L, responses[i].Parameters[InferenceService.BatchSizeParameter]);
            Assert.Equal(100L, responses[i].Parameters[InferenceService.QueueTimeParameter]);
        }

        using var lease = _repository.Acquire("adder");
        var stats = lease.Model.Statistics.Snapshot();
        Assert.Equal(6, stats.InferenceCount);
        Assert.Equal(1, stats.ExecutionCount);
        Assert.Equal(3, stats.Success.Count);
        Assert.Equal(3, stats.Queue.Count);
        Assert.Equal(300_000, stats.Queue.Ns);
        var batch = Assert.Single(lease.Model.Statistics.BatchStatistics());
        Assert.Equal(6, batch.BatchSize);
        Assert.Equal(1, batch.ComputeInfer.Count);
    }

    [Fact]
    public async Task A_cancelled_queued_request_counts_as_canceled()
    {
        using var cts = new CancellationTokenSource();
        var task = _service.InferAsync(Request(1, 0), cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task.WaitAsync(Guard));

        using var lease = _repository.Acquire("adder");
        Assert.Equal(1, lease.Model.Statistics.Failures(FailureReason.Canceled));
        Assert.Equal(0, lease.Model.Statistics.Snapshot().ExecutionCount);
    }

    [Fact]
    public void The_sync_path_still_runs_directly()
    {
        var response = _service.InferDirect(Request(2, 0));
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], response.Outputs[0].Tensor.ToArray<float>());
        Assert.Empty(response.Parameters);
    }

    public void Dispose()
    {
        _repository.Dispose();
        Directory.Delete(_root, recursive: true);
    }
}
