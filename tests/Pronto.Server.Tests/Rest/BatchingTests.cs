using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;
using Pronto.Testing;

namespace Pronto.Server.Tests.Rest;

/// <summary>Dynamic batching over REST: the queue-full 503 with Retry-After, and the batching headers and parameters.</summary>
public sealed class BatchingTests : IAsyncLifetime
{
    private const string Body = """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}""";
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-rest-batching-").FullName;
    // The batchers' clock: queue delays and queue times move only when a test advances it.
    private readonly FakeTimeProvider _time = new();
    private ProntoServer _server = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        // "slow" holds one request in its queue for 100 s (its delay); "fast" batches with no delay.
        Write("slow", "dynamic_batching { max_queue_delay_microseconds: 100000000 default_queue_policy { max_queue_size: 1 } }");
        Write("fast", "dynamic_batching { }");
        _server = await ServerFixture.StartAsync(options => options.ModelRepository = _root, _time);
        _http = new HttpClient { BaseAddress = _server.HttpUri };
    }

    private void Write(string name, string batching)
    {
        TinyModels.WriteAddConstant(_root, name, 1f, 3);
        File.WriteAllText(Path.Combine(_root, name, "config.pbtxt"), $$"""
            max_batch_size: 8
            input [ { name: "x" data_type: TYPE_FP32 dims: [ 3 ] } ]
            output [ { name: "y" data_type: TYPE_FP32 dims: [ 3 ] } ]
            {{batching}}
            """);
    }

    private static StringContent Json() => new(Body, Encoding.UTF8, "application/json");

    [Fact]
    public async Task A_full_queue_answers_503_with_retry_after()
    {
        // The first request enters the queue in-process: InferAsync has queued it when it returns (no wait for the
        // HTTP path to reach the batcher), and on the fake clock its 100 s delay never passes.
        using var cts = new CancellationTokenSource();
        var service = _server.Services.GetRequiredService<InferenceService>();
        var waiting = service.InferAsync(new InferenceRequest { ModelName = "slow", Inputs = [new NamedTensor("x", Tensor.Create(new float[] { 1, 2, 3 }, 1, 3))] }, cts.Token);
        using (var lease = _server.Repository.Acquire("slow"))
        {
            Assert.Equal(1, lease.Model.GetBatcher()!.QueueLength);
        }

        using var rejected = await _http.PostAsync("/v2/models/slow/infer", Json());

        Assert.Equal(HttpStatusCode.ServiceUnavailable, rejected.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), rejected.Headers.RetryAfter?.Delta);
        using var error = JsonDocument.Parse(await rejected.Content.ReadAsStringAsync());
        Assert.Equal("inference request for model 'slow' exceeds maximum queue size (1)", error.RootElement.GetProperty("error").GetString());

        // The caller that gives up leaves the queue.
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        using (var lease = _server.Repository.Acquire("slow"))
        {
            Assert.Equal(0, lease.Model.GetBatcher()!.QueueLength);
        }
    }

    [Fact]
    public async Task A_batched_response_says_its_queue_time_and_batch_size()
    {
        using var response = await _http.PostAsync("/v2/models/fast/infer", Json());

        response.EnsureSuccessStatusCode();
        Assert.Equal("1", Assert.Single(response.Headers.GetValues("Pronto-Batch-Size")));
        // The fake clock did not move while the request waited: exactly 0 us in the queue.
        Assert.Equal("0", Assert.Single(response.Headers.GetValues("Pronto-Queue-Time-Us")));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(1, json.RootElement.GetProperty("parameters").GetProperty("batch_size").GetInt64());
        Assert.Equal([2f, 3f, 4f], json.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()));

        using var stats = JsonDocument.Parse(await _http.GetStringAsync("/v2/models/fast/stats"));
        var batch = Assert.Single(stats.RootElement.GetProperty("model_stats")[0].GetProperty("batch_stats").EnumerateArray());
        Assert.Equal(1, batch.GetProperty("batch_size").GetInt64());
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.StopAsync();
        await _server.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}
