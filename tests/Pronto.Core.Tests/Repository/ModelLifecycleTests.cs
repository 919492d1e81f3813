using Microsoft.Extensions.Time.Testing;
using Pronto.Core.Backends;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.Core.Tests.Repository;

/// <summary>
/// Scale to zero and multiplexing on real ONNX models and a fake clock: idle unload, on-demand loading shared by
/// concurrent first requests, keep_alive, pinning, and least-recently-used eviction under a bound.
/// </summary>
public sealed class ModelLifecycleTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-lifecycle-").FullName;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-04T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly GatedBackend _backend = new(new OnnxBackend());
    private readonly List<ModelLoadedEvent> _loads = [];
    private readonly List<ModelUnloadedEvent> _unloads = [];

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task An_idle_model_unloads_after_its_idle_time_and_the_next_request_loads_it_again()
    {
        TinyModels.WriteAddConstant(_root, "adder", 1f, 2);
        using var repository = Open(new ModelLifecyclePolicy { IdleUnload = TimeSpan.FromSeconds(30) });
        repository.Load("adder");
        Assert.Equal(new[] { 2f, 3f }, await InferAsync(repository, "adder", 1, 2));

        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(ModelState.Ready, Assert.Single(repository.Index()).State);
        _time.Advance(TimeSpan.FromSeconds(1));
        var row = Assert.Single(repository.Index());
        Assert.Equal(new ModelVersionStatus("adder", null, ModelState.Unavailable, "unloaded after 30 s idle; loads on the next request"), row);
        Assert.Equal([new ModelUnloadedEvent("adder", 1, UnloadReason.Idle)], _unloads);
        Assert.True(repository.IsServable("adder"));
        Assert.True(repository.AllReady());

        Assert.Equal(new[] { 11f, 12f }, await InferAsync(repository, "adder", 10, 11));
        Assert.Equal([false, true], _loads.Select(l => l.OnDemand));
        Assert.Equal(2, _backend.Loads);
    }

    [Fact]
    public async Task Concurrent_first_requests_share_one_load()
    {
        TinyModels.WriteAddConstant(_root, "adder", 1f, 2);
        using var repository = Open(new ModelLifecyclePolicy { IdleUnload = TimeSpan.FromSeconds(30) });
        _backend.Hold();
        var requests = Enumerable.Range(0, 4).Select(i => InferAsync(repository, "adder", i, i)).ToArray();
        await _backend.Entered.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.All(requests, r => Assert.False(r.IsCompleted));
        _backend.Release();

        var results = await Task.WhenAll(requests);
        Assert.Equal(Enumerable.Range(0, 4).Select(i => new[] { i + 1f, i + 1f }), results);
        Assert.Equal(1, _backend.Loads);
        Assert.True(Assert.Single(_loads).OnDemand);
    }

    [Fact]
    public void An_in_flight_request_keeps_its_model_loaded_past_the_idle_time()
    {
        TinyModels.WriteAddConstant(_root, "adder", 1f, 2);
        using var repository = Open(new ModelLifecyclePolicy { IdleUnload = TimeSpan.FromSeconds(30) });
        repository.Load("adder");
        using (repository.Acquire("adder"))
        {
            _time.Advance(TimeSpan.FromMinutes(5));
            Assert.Equal(ModelState.Ready, Assert.Single(repository.Index()).State);
        }

        // Idle is counted from when the request left.
        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.Empty(_unloads);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(UnloadReason.Idle, Assert.Single(_unloads).Reason);
    }

    [Fact]
    public async Task Keep_alive_zero_unloads_at_once_negative_pins_and_the_config_sets_its_own_idle_time()
    {
        TinyModels.WriteAddConstant(_root, "brief", 1f, 2);
        TinyModels.WriteAddConstant(_root, "pinned", 1f, 2);
        TinyModels.WriteAddConstant(_root, "configured", 1f, 2);
        File.WriteAllText(Path.Combine(_root, "configured", "config.pbtxt"), "parameters { key: \"pronto.idle_unload_seconds\" value: { string_value: \"5\" } }\n");
        using var repository = Open(new ModelLifecyclePolicy { IdleUnload = TimeSpan.FromSeconds(600) });
        foreach (var name in new[] { "brief", "pinned", "configured" })
        {
            repository.Load(name);
        }

        await InferAsync(repository, "brief", 1, 1, keepAlive: 0L);
        await InferAsync(repository, "pinned", 1, 1, keepAlive: -1L);
        await InferAsync(repository, "configured", 1, 1);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(["brief"], _unloads.Select(u => u.Model));
        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(["brief", "configured"], _unloads.Select(u => u.Model));
        _time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(["brief", "configured"], _unloads.Select(u => u.Model));
        Assert.Equal(ModelState.Ready, repository.Index().Single(r => r.Name == "pinned").State);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("5x")]
    [InlineData(true)]
    public async Task A_malformed_keep_alive_is_an_invalid_argument(object value)
    {
        TinyModels.WriteAddConstant(_root, "adder", 1f, 2);
        using var repository = Open(new ModelLifecyclePolicy());
        repository.Load("adder");
        var e = await Assert.ThrowsAsync<ProntoException>(() => InferAsync(repository, "adder", 1, 1, keepAlive: value));
        Assert.Equal(ErrorCode.InvalidArgument, e.Code);
        Assert.StartsWith("parameter 'keep_alive' must be a number of seconds or a duration", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Under_a_bound_the_least_recently_used_model_makes_room_and_pinned_models_stay()
    {
        foreach (var name in new[] { "a", "b", "c", "d" })
        {
            TinyModels.WriteAddConstant(_root, name, 1f, 2);
        }

        using var repository = Open(new ModelLifecyclePolicy { MaxLoadedModels = 2, Pinned = new HashSet<string>(["a"]) });
        repository.Load("a");
        _time.Advance(TimeSpan.FromSeconds(1));
        await InferAsync(repository, "b", 1, 1);
        _time.Advance(TimeSpan.FromSeconds(1));
        await InferAsync(repository, "a", 1, 1);
        _time.Advance(TimeSpan.FromSeconds(1));

        // a is pinned, so b (used longer ago than a, but a cannot go) makes room for c, then c for d.
        await InferAsync(repository, "c", 1, 1);
        _time.Advance(TimeSpan.FromSeconds(1));
        await InferAsync(repository, "d", 1, 1);
        Assert.Equal([new ModelUnloadedEvent("b", 1, UnloadReason.Evicted), new ModelUnloadedEvent("c", 1, UnloadReason.Evicted)], _unloads);
        Assert.Equal(["a", "d"], repository.ReadyModels().Select(m => m.Name));

        // b comes back on demand, evicting the least recently used unpinned model, d.
        Assert.Equal(new[] { 2f, 2f }, await InferAsync(repository, "b", 1, 1));
        Assert.Equal(new ModelUnloadedEvent("d", 1, UnloadReason.Evicted), _unloads[^1]);
    }

    [Fact]
    public async Task A_memory_budget_unloads_the_least_recently_used_by_measured_size_and_refuses_a_model_larger_than_all_of_it()
    {
        const long Mb = 1 << 20;
        var sizes = new Dictionary<string, long> { ["a"] = 30 * Mb, ["b"] = 30 * Mb, ["c"] = 30 * Mb, ["big"] = 80 * Mb };
        foreach (var name in sizes.Keys)
        {
            TinyModels.WriteAddConstant(_root, name, 1f, 2);
        }

        // The process's resident memory as the fake backend grows it: each load takes its model's size.
        _backend.LoadedBytes = path => sizes[Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(path)))!];
        using var repository = Open(new ModelLifecyclePolicy { MaxLoadedBytes = 70 * Mb, ResidentBytes = () => _backend.Resident });
        async Task Use(string model)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await InferAsync(repository, model, 1, 1);
        }

        await Use("a");
        await Use("b");
        await Use("a");
        var index = repository.Index().Single(r => r.Name == "a");
        Assert.Equal(30 * Mb, index.ResidentBytes);
        Assert.Equal(_time.GetUtcNow(), index.LastUsed);

        // c, never loaded, is expected to take its file; measured at 30 MB, 90 MB are loaded: b, least recent, goes.
        await Use("c");
        Assert.Equal(["a", "c"], repository.ReadyModels().Select(m => m.Name));

        // b is now known to take 30 MB: a (used before c) goes first.
        await Use("b");
        Assert.Equal(["b", "c"], repository.ReadyModels().Select(m => m.Name));

        // big, measured at 80 MB, leaves no room for anything else, and stays loaded itself.
        await Use("big");
        Assert.Equal(["big"], repository.ReadyModels().Select(m => m.Name));
        await Use("a");
        Assert.Equal(["a"], repository.ReadyModels().Select(m => m.Name));
        Assert.Equal(
            [("b", UnloadReason.Evicted), ("a", UnloadReason.Evicted), ("c", UnloadReason.Evicted), ("b", UnloadReason.Evicted), ("big", UnloadReason.Evicted)],
            _unloads.Select(u => (u.Model, u.Reason)));

        // Now known to take more than the whole budget: refused before anything is unloaded for it.
        var e = await Assert.ThrowsAsync<ProntoException>(() => Use("big"));
        Assert.Equal(ErrorCode.Unavailable, e.Code);
        Assert.Equal("cannot load model 'big': it takes about 80 MB, over the memory budget of 70 MB", e.Message);
        Assert.Equal(["a"], repository.ReadyModels().Select(m => m.Name));
        Assert.Equal(5, _unloads.Count);
    }

    [Fact]
    public async Task When_every_loaded_model_is_pinned_the_bound_refuses_the_load()
    {
        TinyModels.WriteAddConstant(_root, "a", 1f, 2);
        TinyModels.WriteAddConstant(_root, "b", 1f, 2);
        using var repository = Open(new ModelLifecyclePolicy { MaxLoadedModels = 1, Pinned = new HashSet<string>(["a"]) });
        repository.Load("a");
        var e = await Assert.ThrowsAsync<ProntoException>(() => InferAsync(repository, "b", 1, 1));
        Assert.Equal(ErrorCode.Unavailable, e.Code);
        Assert.Equal("cannot load model 'b': 1 models are loaded (at most 1) and every one is pinned", e.Message);
        Assert.Equal(["a"], repository.ReadyModels().Select(m => m.Name));
    }

    [Fact]
    public async Task An_unload_someone_asked_for_stays_and_a_static_repository_never_loads_on_demand()
    {
        TinyModels.WriteAddConstant(_root, "adder", 1f, 2);
        TinyModels.WriteAddConstant(_root, "other", 1f, 2);
        using var repository = Open(new ModelLifecyclePolicy { IdleUnload = TimeSpan.FromSeconds(30) });
        repository.Load("adder");
        repository.Unload("adder");
        Assert.False(repository.IsServable("adder"));
        var e = await Assert.ThrowsAsync<ProntoException>(() => InferAsync(repository, "adder", 1, 1));
        Assert.Equal(ErrorCode.Unavailable, e.Code);
        Assert.Equal([new ModelUnloadedEvent("adder", 1, UnloadReason.Requested)], _unloads);

        using var fixedRepository = new ModelRepository(_root, [_backend], time: _time);
        var notLoaded = await Assert.ThrowsAsync<ProntoException>(() => InferAsync(fixedRepository, "other", 1, 1));
        Assert.Equal(ErrorCode.NotFound, notLoaded.Code);
        Assert.Equal("model 'other' is not loaded", notLoaded.Message);
    }

    [Fact]
    public async Task A_config_that_cannot_load_on_demand_is_unavailable_with_its_reason_and_not_retried()
    {
        TinyModels.WriteAddConstant(_root, "broken", 1f, 2);
        File.WriteAllText(Path.Combine(_root, "broken", "config.pbtxt"), "max_batch_size: -3\n");
        using var repository = Open(new ModelLifecyclePolicy { IdleUnload = TimeSpan.FromSeconds(30) });
        var e = await Assert.ThrowsAsync<ProntoException>(() => InferAsync(repository, "broken", 1, 1));
        Assert.Equal(ErrorCode.Unavailable, e.Code);
        Assert.StartsWith("model 'broken' could not be loaded: ", e.Message, StringComparison.Ordinal);
        Assert.False(repository.CanLoadOnDemand("broken"));
        Assert.Equal(0, _backend.Loads);
    }

    private ModelRepository Open(ModelLifecyclePolicy policy)
    {
        var repository = new ModelRepository(_root, [_backend], time: _time) { Lifecycle = policy };
        repository.ModelLoaded += e => { lock (_loads) { _loads.Add(e); } };
        repository.ModelUnloaded += e => { lock (_unloads) { _unloads.Add(e); } };
        repository.StartIdleUnloading();
        return repository;
    }

    private static async Task<float[]> InferAsync(ModelRepository repository, string model, float a, float b, object? keepAlive = null)
    {
        var service = new InferenceService(repository);
        var response = await service.InferAsync(new InferenceRequest
        {
            ModelName = model,
            Inputs = [new NamedTensor("x", Tensor.Create(new[] { a, b }, 1, 2))],
            Parameters = keepAlive is null ? new Dictionary<string, object>() : new Dictionary<string, object> { [KeepAlive.Parameter] = keepAlive },
        });
        return response.Outputs[0].Tensor.ToArray<float>();
    }

    /// <summary>The ONNX backend with a count of loads and a gate a test can hold loads at.</summary>
    private sealed class GatedBackend(IModelBackend inner) : IModelBackend
    {
        private readonly ManualResetEventSlim _open = new(true);
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _loads;
        private long _resident;

        public int Loads => Volatile.Read(ref _loads);

        /// <summary>Bytes each load adds to <see cref="Resident"/> (the model path in, bytes out).</summary>
        public Func<string, long> LoadedBytes { get; set; } = static _ => 0;

        /// <summary>A stand-in for the process's resident memory: what the loads so far added.</summary>
        public long Resident => Interlocked.Read(ref _resident);

        public Task Entered => _entered.Task;

        public string Platform => inner.Platform;

        public string DefaultModelFilename => inner.DefaultModelFilename;

        public bool Accepts(ModelConfig config) => inner.Accepts(config);

        public ModelConfig DeriveConfig(string name, string modelPath) => inner.DeriveConfig(name, modelPath);

        public IModelInstance Load(ModelConfig config, string modelPath, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _loads);
            _entered.TrySetResult();
            _open.Wait(cancellationToken);
            Interlocked.Add(ref _resident, LoadedBytes(modelPath));
            return inner.Load(config, modelPath, cancellationToken);
        }

        public void Hold() => _open.Reset();

        public void Release() => _open.Set();
    }
}
