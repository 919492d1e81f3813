using System.Globalization;
using Microsoft.Extensions.Logging;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;

namespace Pronto.Core.Repository;

/// <summary>
/// Scale to zero and multiplexing: idle models unload (server default, <c>pronto.idle_unload_seconds</c>, a
/// request's <c>keep_alive</c>), a request for a model that is not loaded loads it and waits (concurrent first
/// requests share one load), and <see cref="ModelLifecyclePolicy.MaxLoadedModels"/> bounds the loaded models by
/// unloading the least recently used. An unload never cuts an in-flight request (leases) or a load in progress
/// (the model's load gate).
/// </summary>
public sealed partial class ModelRepository
{
    private ITimer? _idleTimer;

    /// <summary>The policy; set before serving (the server sets it from its options).</summary>
    public ModelLifecyclePolicy Lifecycle { get; set; } = new();

    /// <summary>Raised after a version loads (explicitly or on demand); metrics count at this source.</summary>
    public event Action<ModelLoadedEvent>? ModelLoaded;

    /// <summary>Raised after a version is unloaded, with why.</summary>
    public event Action<ModelUnloadedEvent>? ModelUnloaded;

    /// <summary>
    /// Leases a ready version: <paramref name="version"/> null or empty picks the highest ready one. A model that
    /// can load on demand (<see cref="CanLoadOnDemand"/>) is loaded first, this thread waiting for it.
    /// Throws NotFound for an unknown model or version, Unavailable when it is not ready.
    /// </summary>
    public ModelLease Acquire(string name, string? version = null)
    {
        try
        {
            return AcquireLoaded(name, version);
        }
        catch (ProntoException e) when (e.Code is ErrorCode.NotFound or ErrorCode.Unavailable && CanLoadOnDemand(name))
        {
            // The load's own error, if it fails, is the answer: it says why the model is not there.
            EnsureLoadedAsync(name).GetAwaiter().GetResult();
            return AcquireLoaded(name, version);
        }
    }

    /// <summary>The serving path's <see cref="Acquire"/>: an on-demand load is awaited, cancellably, without holding a thread.</summary>
    public async ValueTask<ModelLease> AcquireAsync(string name, string? version, CancellationToken cancellationToken)
    {
        try
        {
            return AcquireLoaded(name, version);
        }
        catch (ProntoException e) when (e.Code is ErrorCode.NotFound or ErrorCode.Unavailable && CanLoadOnDemand(name))
        {
            await EnsureLoadedAsync(name).WaitAsync(cancellationToken).ConfigureAwait(false);
            return AcquireLoaded(name, version);
        }
    }

    /// <summary>
    /// True when a request for <paramref name="name"/> would be served: it has a ready version, or it would load on
    /// demand. The model ready route answers this without loading anything.
    /// </summary>
    public bool IsServable(string name, string? version = null)
    {
        try
        {
            using var lease = AcquireLoaded(name, version);
            return true;
        }
        catch (ProntoException e) when (e.Code is ErrorCode.NotFound or ErrorCode.Unavailable)
        {
            return CanLoadOnDemand(name) && (string.IsNullOrEmpty(version) || Directory.Exists(Path.Combine(Root, name, version)));
        }
    }

    /// <summary>
    /// Whether a request may load <paramref name="name"/>: it was unloaded for being idle or to make room, or (with
    /// <see cref="ModelLifecyclePolicy.LoadOnDemand"/>) it is on disk and was never loaded. Not after an unload someone
    /// asked for, nor after a failed load (its reason stands until an explicit load).
    /// </summary>
    public bool CanLoadOnDemand(string name)
    {
        if (!IsValidName(name))
        {
            return false;
        }

        lock (_gate)
        {
            if (_disposed)
            {
                return false;
            }

            if (_models.TryGetValue(name, out var entry) && (entry.Versions.Count > 0 || entry.Reason is not null))
            {
                if (entry.PendingLoad is not null)
                {
                    return true;
                }

                // Unloaded, or being unloaded, for idleness or room: the request waits for the unload, then loads.
                return !entry.UnloadRequested && !entry.LoadFailed
                    && (entry.Unloaded || entry.Versions.Values.Any(static s => s.State == ModelState.Unloading));
            }
        }

        return Lifecycle.LoadOnDemand && Directory.Exists(Path.Combine(Root, name));
    }

    /// <summary>
    /// Sets the idle time after which <paramref name="name"/> unloads, from a request's <c>keep_alive</c> (Ollama's
    /// meaning): zero unloads it once idle, infinite (negative in requests) keeps it loaded, null returns to the default.
    /// </summary>
    public void KeepAlive(string name, TimeSpan? keepAlive)
    {
        lock (_gate)
        {
            if (_models.TryGetValue(name, out var entry))
            {
                entry.KeepAlive = keepAlive;
            }
        }
    }

    /// <summary>Starts the idle check: every <paramref name="period"/> (1 s by default) on the repository's clock.</summary>
    public void StartIdleUnloading(TimeSpan? period = null)
    {
        var every = period ?? TimeSpan.FromSeconds(1);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _idleTimer ??= _time.CreateTimer(static state => ((ModelRepository)state!).UnloadIdle(), this, every, every);
        }
    }

    /// <summary>Unloads every model idle for longer than its idle time; returns the names unloaded. The idle timer calls it.</summary>
    public IReadOnlyList<string> UnloadIdle()
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        List<ModelEntry> candidates;
        lock (_gate)
        {
            if (_disposed)
            {
                return [];
            }

            candidates = [.. _models.Values.Where(e => IsIdle(e, now))];
        }

        var unloaded = new List<string>();
        foreach (var entry in candidates)
        {
            // A load (or another unload) in progress wins; the next check sees the model again.
            if (!entry.LoadGate.Wait(0))
            {
                continue;
            }

            try
            {
                bool idle;
                lock (_gate)
                {
                    idle = IsIdle(entry, _time.GetUtcNow().ToUnixTimeMilliseconds());
                }

                if (idle)
                {
                    UnloadHoldingGate(entry, UnloadReason.Idle);
                    unloaded.Add(entry.Name);
                }
            }
            finally
            {
                entry.LoadGate.Release();
            }
        }

        return unloaded;
    }

    /// <summary>Pinned: <c>--preload</c>, or a request's <c>keep_alive</c> of -1. Never unloaded for idleness or room.</summary>
    private bool IsPinned(ModelEntry entry) => Lifecycle.Pinned.Contains(entry.Name) || entry.KeepAlive == Timeout.InfiniteTimeSpan;

    /// <summary>The idle time of a model: the last <c>keep_alive</c>, else its <c>pronto.idle_unload_seconds</c>, else the server's; null: never.</summary>
    private TimeSpan? EffectiveIdle(ModelEntry entry)
    {
        if (IsPinned(entry))
        {
            return null;
        }

        if (entry.KeepAlive is { } keepAlive)
        {
            return keepAlive;
        }

        var config = entry.Versions.Values.Where(static s => s.Model is not null).Select(static s => s.Model!.Config).LastOrDefault();
        if (config is not null && config.Parameters.TryGetValue(ProntoParameters.IdleUnloadSeconds, out var text))
        {
            var seconds = int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
            return seconds == 0 ? null : TimeSpan.FromSeconds(seconds);
        }

        return Lifecycle.IdleUnload > TimeSpan.Zero ? Lifecycle.IdleUnload : null;
    }

    // Under _gate.
    private bool IsIdle(ModelEntry entry, long nowMs)
    {
        var models = entry.Versions.Values.Where(static s => s.State == ModelState.Ready && s.Model is not null).Select(static s => s.Model!).ToList();
        if (models.Count == 0 || entry.PendingLoad is not null || EffectiveIdle(entry) is not { } idle)
        {
            return false;
        }

        return models.All(static m => m.InFlight == 0) && nowMs - models.Max(static m => m.LastUsedMs) >= (long)idle.TotalMilliseconds;
    }

    /// <summary>The load of <paramref name="name"/> that requests wait for: the one in progress, or a new one.</summary>
    private Task EnsureLoadedAsync(string name)
    {
        var entry = GetOrAddEntry(name);
        lock (_gate)
        {
            if (entry.PendingLoad is { } pending)
            {
                return pending;
            }

            var load = new Task(() => LoadOnDemand(entry));
            entry.PendingLoad = load;
            load.Start(TaskScheduler.Default);
            return load;
        }
    }

    private void LoadOnDemand(ModelEntry entry)
    {
        try
        {
            entry.LoadGate.Wait();
            try
            {
                // A request may have raced an explicit load: nothing to do if a version is ready now.
                lock (_gate)
                {
                    if (entry.Versions.Values.Any(static s => s.State == ModelState.Ready))
                    {
                        return;
                    }
                }

                try
                {
                    var dir = ModelDirectory(entry.Name);
                    MakeRoomFor(entry.Name, ExpectedBytes(entry, dir), refuse: true);
                    LoadLocked(entry, dir, onDemand: true, CancellationToken.None);

                    // Its measured size may be more than expected (a first load is expected to take its file): the
                    // memory bound holds after the load too, by unloading others.
                    MakeRoomFor(entry.Name, entry.LastResidentBytes ?? 0, refuse: false);
                }
                catch (ProntoException e) when (e.Code != ErrorCode.Unavailable)
                {
                    // A config the server cannot load is not the client's mistake: 503 with the reason, not 400.
                    throw new ProntoException(ErrorCode.Unavailable, $"model '{entry.Name}' could not be loaded: {e.Message}", e);
                }
            }
            finally
            {
                entry.LoadGate.Release();
            }
        }
        finally
        {
            lock (_gate)
            {
                entry.PendingLoad = null;
            }
        }
    }

    /// <summary>
    /// Unloads least recently used models until <paramref name="name"/>, taking <paramref name="need"/> bytes, fits
    /// beside the others under <see cref="ModelLifecyclePolicy.MaxLoadedModels"/> and
    /// <see cref="ModelLifecyclePolicy.MaxLoadedBytes"/>. Pinned models stay. Before a load (<paramref name="refuse"/>),
    /// what cannot fit is refused (503), as a bound is a bound: a model larger than the whole budget at once, without
    /// unloading anything for it.
    /// </summary>
    private void MakeRoomFor(string name, long need, bool refuse)
    {
        var max = Lifecycle.MaxLoadedModels;
        var budget = Lifecycle.MaxLoadedBytes;
        if (max <= 0 && budget <= 0)
        {
            return;
        }

        if (refuse && budget > 0 && need > budget)
        {
            ProntoErrors.Unavailable($"cannot load model '{name}': it takes about {Mb(need)} MB, over the memory budget of {Mb(budget)} MB");
        }

        while (true)
        {
            ModelEntry? victim = null;
            lock (_gate)
            {
                var loaded = _models.Values.Where(e => e.Name != name && e.Versions.Values.Any(static s => s.State == ModelState.Ready && s.Model is not null)).ToList();
                var held = budget <= 0 ? 0 : loaded.Sum(static e => e.Versions.Values.Sum(static s => s.Model?.ResidentBytes ?? 0));
                var overCount = refuse && max > 0 && loaded.Count >= max;
                var overBytes = budget > 0 && held + need > budget;
                if (!overCount && !overBytes)
                {
                    return;
                }

                // Least recently used first; among equals, one with nothing in flight, then by name (deterministic).
                victim = loaded
                    .Where(e => !IsPinned(e))
                    .OrderBy(static e => e.Versions.Values.Where(static s => s.Model is not null).Max(static s => s.Model!.LastUsedMs))
                    .ThenBy(static e => e.Versions.Values.Sum(static s => s.Model?.InFlight ?? 0))
                    .ThenBy(static e => e.Name, StringComparer.Ordinal)
                    .FirstOrDefault();
                if (victim is null)
                {
                    if (!refuse)
                    {
                        return;
                    }

                    ProntoErrors.Unavailable(overCount
                        ? $"cannot load model '{name}': {loaded.Count} models are loaded (at most {max}) and every one is pinned"
                        : $"cannot load model '{name}': it takes about {Mb(need)} MB and the pinned models hold {Mb(held)} MB, over the memory budget of {Mb(budget)} MB");
                }
            }

            // Another model's gate: its own load or unload in progress finishes first.
            victim.LoadGate.Wait();
            try
            {
                UnloadHoldingGate(victim, UnloadReason.Evicted);
            }
            finally
            {
                victim.LoadGate.Release();
            }
        }
    }

    // What loading a model is expected to take: its size when last loaded; never loaded here, its largest version's
    // model files (a lower bound: the bound is checked again once it is loaded and measured).
    private long ExpectedBytes(ModelEntry entry, string dir)
    {
        lock (_gate)
        {
            if (entry.LastResidentBytes is { } last)
            {
                return last;
            }
        }

        try
        {
            return Directory.EnumerateDirectories(dir).Where(static d => long.TryParse(Path.GetFileName(d), out _))
                .Select(static d => Directory.EnumerateFiles(d).Where(static f => f.EndsWith(".onnx", StringComparison.Ordinal) || f.EndsWith(".data", StringComparison.Ordinal)).Sum(static f => new FileInfo(f).Length))
                .DefaultIfEmpty(0).Max();
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static long Mb(long bytes) => (bytes + (1 << 20) - 1) >> 20;

    private void OnLoaded(string name, long version, TimeSpan loadTime, bool onDemand, LoadPhases? phases)
    {
        if (onDemand)
        {
            LogLoadedOnDemand(_logger, name, version, loadTime.TotalSeconds);
        }

        ModelLoaded?.Invoke(new ModelLoadedEvent(name, version, loadTime, onDemand, phases));
    }

    private void OnUnloaded(string name, long version, UnloadReason reason) => ModelUnloaded?.Invoke(new ModelUnloadedEvent(name, version, reason));

    private void StopIdleTimer()
    {
        ITimer? timer;
        lock (_gate)
        {
            timer = _idleTimer;
            _idleTimer = null;
        }

        timer?.Dispose();
    }

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Model {Model} version {Version} loaded on demand in {Seconds:F3} s")]
    private static partial void LogLoadedOnDemand(ILogger logger, string model, long version, double seconds);
}

/// <summary>How models load and unload while serving (<c>pronto serve</c>'s flags).</summary>
public sealed record ModelLifecyclePolicy
{
    /// <summary>Idle time after which a model unloads (<c>--idle-unload-seconds</c>); zero: never.</summary>
    public TimeSpan IdleUnload { get; init; }

    /// <summary>At most this many models loaded at once, the least recently used unloaded first (<c>--max-loaded-models</c>); 0: no bound.</summary>
    public int MaxLoadedModels { get; init; }

    /// <summary>
    /// At most this many resident bytes of loaded models (<see cref="ServedModel.ResidentBytes"/>, <c>--max-loaded-memory-mb</c>):
    /// before a load, least recently used models unload until the loaded ones plus what this one is expected to take
    /// (its size when last loaded, else its model file) fit. 0: no bound.
    /// </summary>
    public long MaxLoadedBytes { get; init; }

    /// <summary>The process's resident memory now (bytes): the probe a load is measured with. Tests give their own.</summary>
    public Func<long> ResidentBytes { get; init; } = static () => Environment.WorkingSet;

    /// <summary>Models that never unload for idleness or to make room (<c>--preload</c>).</summary>
    public IReadOnlySet<string> Pinned { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// Whether a model on disk that was never loaded loads on its first request: on when idle unloading or a bound is
    /// set, so models come and go with use. A model unloaded for idleness or to make room always loads on demand.
    /// </summary>
    public bool LoadOnDemand => IdleUnload > TimeSpan.Zero || MaxLoadedModels > 0 || MaxLoadedBytes > 0;
}

/// <summary>Why a model version was unloaded (the <c>reason</c> label of <c>pronto_model_unloads_total</c>).</summary>
public enum UnloadReason
{
    /// <summary>Someone asked (the repository API, a CLI call).</summary>
    Requested,

    /// <summary>Idle past its idle time.</summary>
    Idle,

    /// <summary>Least recently used when another model needed room under the bound.</summary>
    Evicted,

    /// <summary>A reload replaced it with a new instance.</summary>
    Replaced,
}

/// <summary>A version finished loading, in <see cref="LoadTime"/> (session creation and warm-up).</summary>
public sealed record ModelLoadedEvent(string Model, long Version, TimeSpan LoadTime, bool OnDemand, LoadPhases? Phases = null);

/// <summary>
/// One version's load split: <paramref name="Session"/>, the backend creating its engine session
/// (<see cref="Backends.ITimedLoad"/>), and <paramref name="WarmUp"/>, everything after it (implicit warm-up runs,
/// the config's model_warmup samples, a generative model's setup).
/// </summary>
public sealed record LoadPhases(TimeSpan Session, TimeSpan WarmUp);

/// <summary>A version was unloaded.</summary>
public sealed record ModelUnloadedEvent(string Model, long Version, UnloadReason Reason);

internal static class UnloadReasonText
{
    public static string Label(this UnloadReason reason) => reason switch
    {
        UnloadReason.Requested => "requested",
        UnloadReason.Idle => "idle",
        UnloadReason.Evicted => "evicted",
        _ => "replaced",
    };

    /// <summary>The reason the repository index shows for an unloaded model.</summary>
    public static string Describe(this UnloadReason reason, TimeSpan? idle) => reason switch
    {
        UnloadReason.Idle => string.Create(CultureInfo.InvariantCulture, $"unloaded after {idle?.TotalSeconds ?? 0:0.###} s idle; loads on the next request"),
        UnloadReason.Evicted => "unloaded to make room (least recently used); loads on the next request",
        _ => "unloaded",
    };
}
