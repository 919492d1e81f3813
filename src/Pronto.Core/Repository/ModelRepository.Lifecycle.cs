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
                    MakeRoomFor(entry.Name);
                    LoadLocked(entry, ModelDirectory(entry.Name), onDemand: true, CancellationToken.None);
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
    /// Unloads least recently used models until one more fits under <see cref="ModelLifecyclePolicy.MaxLoadedModels"/>.
    /// Pinned models stay; when only pinned ones are loaded the load is refused (503), as a bound is a bound.
    /// </summary>
    private void MakeRoomFor(string name)
    {
        var max = Lifecycle.MaxLoadedModels;
        if (max <= 0)
        {
            return;
        }

        while (true)
        {
            ModelEntry? victim = null;
            lock (_gate)
            {
                var loaded = _models.Values.Where(e => e.Name != name && e.Versions.Values.Any(static s => s.State == ModelState.Ready && s.Model is not null)).ToList();
                if (loaded.Count < max)
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
                    ProntoErrors.Unavailable($"cannot load model '{name}': {loaded.Count} models are loaded (at most {max}) and every one is pinned");
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

    private void OnLoaded(string name, long version, TimeSpan loadTime, bool onDemand)
    {
        if (onDemand)
        {
            LogLoadedOnDemand(_logger, name, version, loadTime.TotalSeconds);
        }

        ModelLoaded?.Invoke(new ModelLoadedEvent(name, version, loadTime, onDemand));
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

    /// <summary>Models that never unload for idleness or to make room (<c>--preload</c>).</summary>
    public IReadOnlySet<string> Pinned { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// Whether a model on disk that was never loaded loads on its first request: on when idle unloading or a bound is
    /// set, so models come and go with use. A model unloaded for idleness or to make room always loads on demand.
    /// </summary>
    public bool LoadOnDemand => IdleUnload > TimeSpan.Zero || MaxLoadedModels > 0;
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
public sealed record ModelLoadedEvent(string Model, long Version, TimeSpan LoadTime, bool OnDemand);

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
