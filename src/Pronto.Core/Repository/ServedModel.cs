using Pronto.Core.Backends;
using Pronto.Core.Configuration;
using Pronto.Core.Generation;
using Pronto.Core.Inference;
using Pronto.Core.Processing;
using Pronto.Core.Scheduling;

namespace Pronto.Core.Repository;

/// <summary>
/// A loaded, ready model version: its config, engine instance and processing. Callers reach it only
/// through a <see cref="ModelLease"/>, so an unload waits for in-flight inferences before the engine
/// instance is disposed.
/// </summary>
public sealed class ServedModel
{
    private readonly Lock _gate = new();
    private int _leases;
    private bool _retired;
    private DynamicBatcher? _batcher;
    private OwnedCpuClock? _cpuClock;
    private QueueBudget? _budget;
    private bool _budgetMade;
    internal long _waitingRows;
    private readonly TimeProvider _time;
    private long _lastUsedMs;

    internal ServedModel(string name, long version, ModelConfig config, string modelDirectory, IModelInstance instance, ModelProcessing processing, ModelStatistics totals, TimeProvider time, ResponseCache? responseCache = null, GenerativeModel? generative = null)
    {
        Generative = generative;
        _time = time;
        _lastUsedMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        Name = name;
        Version = version;
        VersionText = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Config = config;
        ModelDirectory = modelDirectory;
        Instance = instance;
        Processing = processing;
        Signature = ModelSignature.Create(config, processing);
        InstanceSlots = new SemaphoreSlim(config.InstanceCount, config.InstanceCount);
        Statistics = new ModelStatistics(totals);
        ResponseCache = config.ResponseCache && responseCache is { CapacityBytes: > 0 } ? responseCache : null;
    }

    public string Name { get; }

    public long Version { get; }

    /// <summary>The version as the protocol writes it (a string).</summary>
    public string VersionText { get; }

    public ModelConfig Config { get; }

    /// <summary>The model's folder in the repository (where config.pbtxt and label files live).</summary>
    public string ModelDirectory { get; }

    public IModelInstance Instance { get; }

    public ModelProcessing Processing { get; }

    /// <summary>The tokenizer and decode loop of a generative model (<c>pronto.generative</c>); null for other models.</summary>
    public GenerativeModel? Generative { get; }

    /// <summary>The inputs and outputs model metadata lists (REST, gRPC, the CLI).</summary>
    public ModelSignature Signature { get; }

    /// <summary>
    /// Engine runs of this version on the serving path when it has no dynamic batcher: <c>instance_group</c>'s count
    /// at once (1 when none), as Triton's default scheduler gives each instance one request at a time. Other requests
    /// wait here, asynchronously, instead of time-slicing the cores between runs that each want them all.
    /// </summary>
    internal SemaphoreSlim InstanceSlots { get; }

    /// <summary>
    /// Request counts and durations of this load of the version (Triton's statistics extension); each record also
    /// counts in the version's lifetime totals (<see cref="ModelRepository.LifetimeStatistics"/>).
    /// </summary>
    public ModelStatistics Statistics { get; }

    /// <summary>When a request last entered or left this version (its load counts as a use), Unix milliseconds.</summary>
    public long LastUsedMs => Interlocked.Read(ref _lastUsedMs);

    /// <summary>
    /// Memory this version holds, measured at load: the process's resident growth over the load and warm-up, at least
    /// the model file's size. What <see cref="ModelLifecyclePolicy.MaxLoadedBytes"/> counts.
    /// </summary>
    public long ResidentBytes { get; init; }

    /// <summary>The repository's response cache when this version's config enables it (and the cache has room); null otherwise.</summary>
    public ResponseCache? ResponseCache { get; }

    /// <summary>Requests now inside this version (leased): Triton's pending request count.</summary>
    public int InFlight => Volatile.Read(ref _leases);

    /// <summary>
    /// The version's dynamic batcher, made on first use, when its config has <c>dynamic_batching</c> and a batch
    /// dimension; null otherwise. Its clock is the repository's, given when the version was loaded; the first caller's
    /// CPU clock costs its runs. It is disposed with the engine instance, after the last lease.
    /// </summary>
    public DynamicBatcher? GetBatcher(CpuClock? cpuClock = null, TimeSpan? queueWaitBudget = null)
    {
        if (Config.DynamicBatching is null || Config.MaxBatchSize <= 0)
        {
            return null;
        }

        var batcher = Volatile.Read(ref _batcher);
        if (batcher is not null)
        {
            return batcher;
        }

        lock (_gate)
        {
            return _batcher ??= new DynamicBatcher(Config, Instance, Statistics, _time, GetCpuClock(cpuClock ?? CpuClock.Thread), GetQueueBudget(queueWaitBudget));
        }
    }

    /// <summary>
    /// The clock this version's engine runs are costed with: <paramref name="serverClock"/> itself, or for a sampled
    /// clock (<see cref="CpuClock.ForModel"/>) this version's own, made on first use for that clock and kept while
    /// callers pass the same one (a sampled clock keeps this version's own CPU / wall ratio).
    /// </summary>
    public CpuClock GetCpuClock(CpuClock serverClock)
    {
        ArgumentNullException.ThrowIfNull(serverClock);
        if (!serverClock.KeepsPerModelState)
        {
            return serverClock;
        }

        var held = Volatile.Read(ref _cpuClock);
        if (held is not null && ReferenceEquals(held.Owner, serverClock))
        {
            return held.Clock;
        }

        lock (_gate)
        {
            if (_cpuClock is null || !ReferenceEquals(_cpuClock.Owner, serverClock))
            {
                Volatile.Write(ref _cpuClock, new OwnedCpuClock(serverClock, serverClock.ForModel()));
            }

            return _cpuClock.Clock;
        }
    }

    /// <summary>A version's own sampled clock and the server clock it was made from.</summary>
    private sealed record OwnedCpuClock(CpuClock Owner, CpuClock Clock);

    /// <summary>
    /// The version's queue-wait budget (<see cref="QueueBudget.For"/>: its config's, else <paramref name="serverDefault"/>),
    /// made on first use, on the repository's clock; null when it has none.
    /// </summary>
    public QueueBudget? GetQueueBudget(TimeSpan? serverDefault)
    {
        lock (_gate)
        {
            if (!_budgetMade)
            {
                _budget = QueueBudget.For(Config, serverDefault, _time);
                _budgetMade = true;
            }

            return _budget;
        }
    }

    internal bool TryAcquire()
    {
        lock (_gate)
        {
            if (_retired)
            {
                return false;
            }

            _leases++;
            Interlocked.Exchange(ref _lastUsedMs, _time.GetUtcNow().ToUnixTimeMilliseconds());
            return true;
        }
    }

    internal void Release()
    {
        bool dispose;
        lock (_gate)
        {
            _leases--;
            Interlocked.Exchange(ref _lastUsedMs, _time.GetUtcNow().ToUnixTimeMilliseconds());
            dispose = _retired && _leases == 0;
        }

        if (dispose)
        {
            DisposeEngine();
        }
    }

    private void DisposeEngine()
    {
        // Every request has left the batcher and the decode loop (each held a lease), so no run is in flight when they stop.
        Generative?.Dispose();
        Volatile.Read(ref _batcher)?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Instance.Dispose();

        // No lease is left to add an entry, and none can be taken: this load's cached responses go with its engine.
        ResponseCache?.Remove(this);
    }

    /// <summary>Stops new leases; the instance is disposed now if idle, else when the last lease ends. Returns true if disposed now.</summary>
    internal bool Retire()
    {
        lock (_gate)
        {
            if (_retired)
            {
                return false;
            }

            _retired = true;
            if (_leases > 0)
            {
                return false;
            }
        }

        DisposeEngine();
        return true;
    }
}
