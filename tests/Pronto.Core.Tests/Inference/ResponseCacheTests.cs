using Pronto.Core.Backends;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Core.Tests.Scheduling;

namespace Pronto.Core.Tests.Inference;

/// <summary>
/// Triton's response_cache through the one inference path: opt-in per model, keyed by the load and the request's bytes,
/// bounded with least-recently-used eviction, counted as hits and misses, emptied when a load goes.
/// </summary>
public sealed class ResponseCacheTests : IDisposable
{
    private const string Cached = "response_cache { enable: true }";
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-cache-").FullName;
    private readonly FakeInstance _engine = new();

    private ModelRepository Repository(string extra, long capacity = ResponseCache.DefaultCapacityBytes, string name = "m")
    {
        var dir = Path.Combine(_root, name);
        Directory.CreateDirectory(Path.Combine(dir, "1"));
        File.WriteAllText(Path.Combine(dir, "1", "model.fake"), "");
        File.WriteAllText(Path.Combine(dir, "config.pbtxt"), $"""
            name: "{name}"
            platform: "fake"
            max_batch_size: 8
            input [ {"{"} name: "x" data_type: TYPE_FP32 dims: [ 1 ] {"}"} ]
            output [ {"{"} name: "y" data_type: TYPE_FP32 dims: [ 1 ] {"}"} ]
            {extra}
            """);
        var repository = new ModelRepository(_root, [new FakeBackend(_engine)]) { ResponseCache = new ResponseCache(capacity) };
        repository.Load(name);
        return repository;
    }

    private static InferenceRequest Request(float value, string id = "1", IReadOnlyDictionary<string, object>? parameters = null, params RequestedOutput[] outputs) => new()
    {
        ModelName = "m",
        Id = id,
        Inputs = [new NamedTensor("x", Tensor.Create([value], 1, 1))],
        Outputs = outputs,
        Parameters = parameters ?? new Dictionary<string, object>(),
    };

    private static ModelStatisticsSnapshot Stats(ModelRepository repository)
    {
        using var lease = repository.Acquire("m");
        return lease.Model.Statistics.Snapshot();
    }

    [Fact]
    public async Task A_hit_returns_the_miss_s_outputs_without_running_the_model_and_both_are_counted()
    {
        using var repository = Repository(Cached);
        var service = new InferenceService(repository);

        var miss = service.InferDirect(Request(41, id: "a"));
        var hit = await service.InferAsync(Request(41, id: "b"));

        Assert.Single(_engine.Runs);
        Assert.False(miss.FromCache);
        Assert.True(hit.FromCache);
        Assert.Equal("b", hit.Id);
        Assert.Equal(TimeSpan.Zero, hit.EngineCpuTime);
        var (m, h) = (miss.Outputs[0], hit.Outputs[0]);
        Assert.Equal(m.Name, h.Name);
        Assert.Equal(m.Tensor.DataType, h.Tensor.DataType);
        Assert.Equal(m.Tensor.Shape.ToArray(), h.Tensor.Shape.ToArray());
        Assert.Equal(m.Tensor.Data.ToArray(), h.Tensor.Data.ToArray());
        Assert.Equal([42f], h.Tensor.ToArray<float>());

        var s = Stats(repository);
        Assert.Equal(1, s.CacheHit.Count);
        Assert.Equal(1, s.CacheMiss.Count);
        Assert.Equal(2, s.Success.Count);

        // Triton: hits are successes, not inferences or executions.
        Assert.Equal(1, s.InferenceCount);
        Assert.Equal(1, s.ExecutionCount);
        Assert.Equal(1, repository.ResponseCache.Count);
    }

    [Fact]
    public void What_can_change_the_result_is_in_the_key_and_scheduling_parameters_are_not()
    {
        using var repository = Repository(Cached);
        var service = new InferenceService(repository);

        service.InferDirect(Request(1));
        service.InferDirect(Request(2));                                                        // other data
        service.InferDirect(Request(1, outputs: new RequestedOutput("y", Classification: 1)));   // classification
        service.InferDirect(Request(1, parameters: new Dictionary<string, object> { ["custom"] = "v" }));
        service.InferDirect(Request(1, parameters: new Dictionary<string, object> { ["custom"] = 1L }));
        Assert.Equal(5, _engine.Runs.Count);

        // Priority, timeout and the binary flag say how a request runs or travels: same key. So do asking for binary and
        // naming the default output.
        service.InferDirect(Request(1, parameters: new Dictionary<string, object> { ["priority"] = 1L, ["timeout"] = 5L, ["binary_data_output"] = true }));
        service.InferDirect(Request(1, outputs: new RequestedOutput("y", Binary: true)));
        service.InferDirect(Request(1, outputs: new RequestedOutput("y")));
        Assert.Equal(5, _engine.Runs.Count);
        var s = Stats(repository);
        Assert.Equal(5, s.CacheMiss.Count);
        Assert.Equal(3, s.CacheHit.Count);
    }

    [Fact]
    public void A_model_without_response_cache_never_caches()
    {
        using var repository = Repository(extra: "");
        var service = new InferenceService(repository);
        service.InferDirect(Request(1));
        service.InferDirect(Request(1));

        Assert.Equal(2, _engine.Runs.Count);
        Assert.Equal(0, repository.ResponseCache.Count);
        var s = Stats(repository);
        Assert.Equal(0, s.CacheHit.Count);
        Assert.Equal(0, s.CacheMiss.Count);
    }

    [Fact]
    public void A_cache_of_zero_bytes_is_off_even_for_a_model_that_asks()
    {
        using var repository = Repository(Cached, capacity: 0);
        var service = new InferenceService(repository);
        service.InferDirect(Request(1));
        service.InferDirect(Request(1));
        Assert.Equal(2, _engine.Runs.Count);
        Assert.Equal(0, Stats(repository).CacheMiss.Count);
    }

    [Fact]
    public void Under_a_budget_of_two_entries_the_least_recently_used_is_evicted_first()
    {
        // Every request here has the same size, so one entry's size measured alone sizes a budget of exactly two.
        long entry;
        using (var probe = Repository(Cached, name: "m"))
        {
            new InferenceService(probe).InferDirect(Request(0));
            entry = probe.ResponseCache.SizeBytes;
        }

        using var repository = Repository(Cached, capacity: 2 * entry);
        var service = new InferenceService(repository);
        service.InferDirect(Request(1));
        service.InferDirect(Request(2));
        Assert.Equal(2 * entry, repository.ResponseCache.SizeBytes);
        Assert.True(service.InferDirect(Request(1)).FromCache);   // 1 is now the most recent, 2 the least

        service.InferDirect(Request(3));                          // evicts 2
        Assert.Equal(1, repository.ResponseCache.Evictions);
        Assert.Equal(2, repository.ResponseCache.Count);
        Assert.True(service.InferDirect(Request(1)).FromCache);
        Assert.True(service.InferDirect(Request(3)).FromCache);
        Assert.False(service.InferDirect(Request(2)).FromCache);  // ran again, evicting 1 (3 was used after it)
        Assert.Equal(2, repository.ResponseCache.Evictions);
        Assert.False(service.InferDirect(Request(1)).FromCache);
        Assert.Equal([0f, 1f, 2f, 3f, 2f, 1f], _engine.Runs.Select(r => r.First));
    }

    [Fact]
    public void An_output_larger_than_the_whole_cache_is_not_kept()
    {
        using var repository = Repository(Cached, capacity: 64);
        var service = new InferenceService(repository);
        service.InferDirect(Request(1));
        Assert.False(service.InferDirect(Request(1)).FromCache);
        Assert.Equal(0, repository.ResponseCache.SizeBytes);
    }

    [Fact]
    public void Unloading_empties_the_load_s_entries_and_a_reload_never_answers_from_the_old_load()
    {
        using var repository = Repository(Cached);
        var service = new InferenceService(repository);
        service.InferDirect(Request(1));
        Assert.Equal(1, repository.ResponseCache.Count);

        repository.Unload("m");
        Assert.Equal(0, repository.ResponseCache.Count);
        Assert.Equal(0, repository.ResponseCache.SizeBytes);
        Assert.Equal(ErrorCode.Unavailable, Assert.Throws<ProntoException>(() => service.InferDirect(Request(1))).Code);

        repository.Load("m");
        Assert.False(service.InferDirect(Request(1)).FromCache);

        // A reload over a loaded version replaces the load: its entries go with it.
        repository.Load("m");
        Assert.Equal(0, repository.ResponseCache.Count);
        Assert.False(service.InferDirect(Request(1)).FromCache);
        Assert.Equal(3, _engine.Runs.Count);
    }

    [Fact]
    public void A_failed_request_is_not_cached()
    {
        using var repository = Repository(Cached);
        var service = new InferenceService(repository);
        var bad = new InferenceRequest { ModelName = "m", Inputs = [new NamedTensor("x", Tensor.Create(new float[9], 9, 1))] };
        Assert.Throws<ProntoException>(() => service.InferDirect(bad));
        Assert.Throws<ProntoException>(() => service.InferDirect(bad));
        Assert.Equal(0, repository.ResponseCache.Count);
        Assert.Empty(_engine.Runs);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
