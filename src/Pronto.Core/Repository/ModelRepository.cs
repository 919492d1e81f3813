using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pronto.Core.Backends;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Generation;
using Pronto.Core.Inference;
using Pronto.Core.Processing;

namespace Pronto.Core.Repository;

/// <summary>
/// A Triton-layout model repository, <c>&lt;root&gt;/&lt;model&gt;/[config.pbtxt]</c> and
/// <c>&lt;root&gt;/&lt;model&gt;/&lt;version&gt;/model.onnx</c>, and the lifecycle of the models in it:
/// load and unload at run time, one model's failure never affecting the others.
/// </summary>
public sealed partial class ModelRepository : IDisposable
{
    public const string ConfigFileName = "config.pbtxt";

    private readonly IReadOnlyList<IModelBackend> _backends;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ModelEntry> _models = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Name, long Version), ModelStatistics> _lifetime = [];
    private readonly TimeProvider _time;
    private bool _disposed;

    /// <param name="time">The clock of idle unloading and last-used times (<see cref="Lifecycle"/>); fake in tests.</param>
    /// <summary>The clock of this repository's versions: idle unloading, their dynamic batchers and queue budgets.</summary>
    public TimeProvider TimeProvider => _time;

    public ModelRepository(string root, IEnumerable<IModelBackend> backends, ILogger<ModelRepository>? logger = null, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = Path.GetFullPath(root);
        _time = time ?? TimeProvider.System;
        _backends = [.. backends];
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        if (_backends.Count == 0)
        {
            throw new ArgumentException("at least one backend is needed", nameof(backends));
        }
    }

    public string Root { get; }

    /// <summary>The response cache of the versions whose config enables <c>response_cache</c>, shared by all of them.</summary>
    public ResponseCache ResponseCache { get; init; } = new();

    /// <summary>
    /// The models present on disk: folders of the root that hold a config or a numeric version folder. Hidden folders
    /// (a leading '.') are not models: they are work in progress, such as a model being prepared under
    /// <c>.NAME.partial-*</c> before its rename, which another process may move away at any moment.
    /// </summary>
    public IReadOnlyList<string> DiscoverModelNames()
    {
        if (!Directory.Exists(Root))
        {
            return [];
        }

        var names = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories(Root))
        {
            var name = Path.GetFileName(dir);
            if (IsValidName(name) && !name.StartsWith('.') && (File.Exists(Path.Combine(dir, ConfigFileName)) || ListVersions(dir).Count > 0))
            {
                names.Add(name);
            }
        }

        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <summary>Loads every model on disk, one after the other; a failure leaves that model UNAVAILABLE with its reason.</summary>
    public Task LoadAllAsync(CancellationToken cancellationToken = default) => Task.Run(
        () =>
        {
            foreach (var name in DiscoverModelNames())
            {
                cancellationToken.ThrowIfCancellationRequested();
                TryLoad(name, cancellationToken);
            }
        },
        cancellationToken);

    /// <summary>Loads or reloads a model; returns false (and records the reason in the index) when it fails.</summary>
    public bool TryLoad(string name, CancellationToken cancellationToken = default)
    {
        try
        {
            Load(name, cancellationToken);
            return true;
        }
        catch (ProntoException e) when (e.Code != ErrorCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>
    /// Loads (or reloads) the versions of <paramref name="name"/> its version policy selects. The new versions
    /// serve as soon as they are ready; versions they replace are unloaded after their in-flight requests.
    /// Throws <see cref="ProntoException"/>: NotFound for a model not on disk, InvalidArgument or Internal with
    /// the reason when loading fails.
    /// </summary>
    public void Load(string name, CancellationToken cancellationToken = default)
    {
        var dir = ModelDirectory(name);
        if (!Directory.Exists(dir))
        {
            ProntoErrors.NotFound($"model '{name}' is not in the repository {Root}");
        }

        var entry = GetOrAddEntry(name);
        entry.LoadGate.Wait(cancellationToken);
        try
        {
            LoadLocked(entry, dir, onDemand: false, cancellationToken);
        }
        finally
        {
            entry.LoadGate.Release();
        }
    }

    /// <summary>
    /// Unloads every version of <paramref name="name"/>; in-flight inferences finish first. An unload asked for
    /// (this method) is kept: the model does not load on demand again until it is loaded explicitly.
    /// </summary>
    public void Unload(string name) => Unload(name, UnloadReason.Requested);

    private void Unload(string name, UnloadReason reason)
    {
        ModelDirectory(name);
        ModelEntry? entry;
        lock (_gate)
        {
            _models.TryGetValue(name, out entry);
        }

        if (entry is null)
        {
            ProntoErrors.NotFound($"model '{name}' is not loaded");
        }

        entry.LoadGate.Wait();
        try
        {
            UnloadHoldingGate(entry, reason);
        }
        finally
        {
            entry.LoadGate.Release();
        }
    }

    /// <summary>Retires every version of <paramref name="entry"/>, whose load gate the caller holds.</summary>
    private void UnloadHoldingGate(ModelEntry entry, UnloadReason reason)
    {
        VersionSlot[] slots;
        lock (_gate)
        {
            // First, so a request arriving now waits to load on demand only after an unload nobody asked for.
            entry.UnloadRequested = reason == UnloadReason.Requested;
            slots = [.. entry.Versions.Values];
            foreach (var slot in slots)
            {
                slot.State = ModelState.Unloading;
                slot.Reason = "unloading";
            }
        }

        foreach (var slot in slots)
        {
            slot.Model?.Retire();
        }

        lock (_gate)
        {
            entry.Reason = reason.Describe(EffectiveIdle(entry));
            entry.Versions.Clear();
            entry.Unloaded = true;
        }

        foreach (var slot in slots.Where(static s => s.Model is not null))
        {
            OnUnloaded(entry.Name, slot.Version, reason);
        }

        LogUnloaded(_logger, entry.Name, reason.Label());
    }

    /// <summary>
    /// Leases a loaded, ready version: <paramref name="version"/> null or empty picks the highest ready one.
    /// Throws NotFound for an unknown model or version, Unavailable when it is not ready.
    /// </summary>
    private ModelLease AcquireLoaded(string name, string? version)
    {
        lock (_gate)
        {
            if (!_models.TryGetValue(name, out var entry))
            {
                ProntoErrors.NotFound(IsValidName(name) && Directory.Exists(Path.Combine(Root, name))
                    ? $"model '{name}' is not loaded"
                    : $"unknown model '{name}'");
            }

            VersionSlot? slot = null;
            if (string.IsNullOrEmpty(version))
            {
                foreach (var s in entry.Versions.Values)
                {
                    if (s.State == ModelState.Ready && (slot is null || s.Version > slot.Version))
                    {
                        slot = s;
                    }
                }

                if (slot is null)
                {
                    ProntoErrors.Unavailable($"model '{name}' has no ready version: {entry.Reason ?? "not loaded"}");
                }
            }
            else if (!long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var v) || !entry.Versions.TryGetValue(v, out slot))
            {
                ProntoErrors.NotFound($"model '{name}' has no version '{version}'");
            }

            if (slot.State != ModelState.Ready || slot.Model is null || !slot.Model.TryAcquire())
            {
                ProntoErrors.Unavailable($"model '{name}' version {slot.Version} is not ready: {slot.State.ToProtocolName()} ({slot.Reason})");
            }

            return new ModelLease(slot.Model);
        }
    }

    /// <summary>Every model on disk or known, each version with its state; a model never loaded appears once, UNAVAILABLE.</summary>
    public IReadOnlyList<ModelVersionStatus> Index()
    {
        var names = new SortedSet<string>(DiscoverModelNames(), StringComparer.Ordinal);
        var rows = new List<ModelVersionStatus>();
        lock (_gate)
        {
            names.UnionWith(_models.Keys);
            foreach (var name in names)
            {
                if (!_models.TryGetValue(name, out var entry) || entry.Versions.Count == 0)
                {
                    rows.Add(new ModelVersionStatus(name, null, ModelState.Unavailable, entry?.Reason ?? "unloaded"));
                    continue;
                }

                foreach (var slot in entry.Versions.Values.OrderBy(s => s.Version))
                {
                    rows.Add(new ModelVersionStatus(name, slot.Version, slot.State, slot.Reason ?? "")
                    {
                        ResidentBytes = slot.Model?.ResidentBytes,
                        LastUsed = slot.Model is { } loaded ? DateTimeOffset.FromUnixTimeMilliseconds(loaded.LastUsedMs) : null,
                    });
                }
            }
        }

        return rows;
    }

    /// <summary>
    /// Every version ever loaded with its statistics summed over all its loads, in name then version order: what
    /// Prometheus counters report, so they keep counting across an unload and a reload instead of restarting.
    /// </summary>
    public IReadOnlyList<(string Name, long Version, ModelStatistics Statistics)> LifetimeStatistics()
    {
        lock (_gate)
        {
            var list = _lifetime.Select(static e => (e.Key.Name, e.Key.Version, e.Value)).ToList();
            list.Sort(static (a, b) => a.Name != b.Name ? string.CompareOrdinal(a.Name, b.Name) : a.Version.CompareTo(b.Version));
            return list;
        }
    }

    private ModelStatistics LifetimeTotals(string name, long version)
    {
        lock (_gate)
        {
            if (!_lifetime.TryGetValue((name, version), out var totals))
            {
                totals = new ModelStatistics();
                _lifetime.Add((name, version), totals);
            }

            return totals;
        }
    }

    /// <summary>Every ready model version, for statistics and metrics.</summary>
    public IReadOnlyList<ServedModel> ReadyModels()
    {
        lock (_gate)
        {
            var list = new List<ServedModel>();
            foreach (var entry in _models.Values)
            {
                foreach (var slot in entry.Versions.Values)
                {
                    if (slot.State == ModelState.Ready && slot.Model is not null)
                    {
                        list.Add(slot.Model);
                    }
                }
            }

            list.Sort((a, b) => a.Name != b.Name ? string.CompareOrdinal(a.Name, b.Name) : a.Version.CompareTo(b.Version));
            return list;
        }
    }

    /// <summary>True when every known model has at least one ready version and none is loading.</summary>
    public bool AllReady()
    {
        lock (_gate)
        {
            foreach (var entry in _models.Values)
            {
                if (entry.Versions.Count == 0 && entry.Reason is not null && !entry.Unloaded)
                {
                    return false;
                }

                foreach (var slot in entry.Versions.Values)
                {
                    if (slot.State != ModelState.Ready)
                    {
                        return false;
                    }
                }
            }

            return true;
        }
    }

    public void Dispose()
    {
        StopIdleTimer();
        List<VersionSlot> slots;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            slots = [.. _models.Values.SelectMany(e => e.Versions.Values)];
            _models.Clear();
        }

        foreach (var slot in slots)
        {
            slot.Model?.Retire();
        }
    }

    /// <summary>The folder of model <paramref name="name"/>; a name that is not one plain folder of the root is an invalid argument.</summary>
    public string ModelDirectory(string name)
    {
        if (!IsValidName(name))
        {
            ProntoErrors.InvalidArgument($"'{name}' is not a valid model name: use letters, digits, '-', '_' and '.', not a path");
        }

        var dir = Path.GetFullPath(Path.Combine(Root, name));

        // Belt and braces after the character check: the folder must be a direct child of the root.
        if (!string.Equals(Path.GetDirectoryName(dir), Root.TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal))
        {
            ProntoErrors.InvalidArgument($"'{name}' is not a valid model name");
        }

        return dir;
    }

    public static bool IsValidName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 128 || name is "." or "..")
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    private void LoadLocked(ModelEntry entry, string dir, bool onDemand, CancellationToken cancellationToken)
    {
        var name = entry.Name;
        var started = _time.GetTimestamp();
        var loaded = new List<VersionSlot>();
        try
        {
            var versions = ListVersions(dir);
            var configPath = Path.Combine(dir, ConfigFileName);
            var config = File.Exists(configPath) ? ModelConfigText.Parse(File.ReadAllText(configPath), name, configPath) : null;
            if (config is not null && config.Name != name)
            {
                ProntoErrors.InvalidArgument($"config.pbtxt names the model '{config.Name}', but its folder is '{name}'");
            }

            var selected = (config?.VersionPolicy ?? VersionPolicy.Latest(1)).Select(versions.Keys);
            if (selected.Count == 0)
            {
                ProntoErrors.InvalidArgument(versions.Count == 0
                    ? $"model '{name}' has no version folder (expected {dir}/1/model.onnx)"
                    : $"model '{name}': the version policy selects none of the versions present ({string.Join(", ", versions.Keys)})");
            }

            if (GenaiConfig.TryRead(versions[selected[^1]]) is { } genai)
            {
                config = GenaiModel(config, name, genai);
            }

            var backend = config is null ? _backends[0] : FindBackend(config);
            var fileName = config?.DefaultModelFilename ?? backend.DefaultModelFilename;
            if (config is null || config.Inputs.Count == 0 || config.Outputs.Count == 0)
            {
                config = Complete(config, backend.DeriveConfig(name, Path.Combine(versions[selected[^1]], fileName)));
            }

            ProntoParameters.Validate(config);
            var processing = ModelProcessing.Create(config, dir);
            lock (_gate)
            {
                foreach (var v in selected)
                {
                    entry.Versions.TryGetValue(v, out var existing);
                    if (existing is null)
                    {
                        entry.Versions[v] = new VersionSlot(v) { State = ModelState.Loading, Reason = "loading" };
                    }
                }
            }

            foreach (var v in selected)
            {
                var modelPath = Path.Combine(versions[v], fileName);
                try
                {
                    var residentBefore = Lifecycle.ResidentBytes();
                    var loadStart = Stopwatch.GetTimestamp();
                    var instance = backend.Load(config, modelPath, cancellationToken);
                    GenerativeModel? generative;
                    try
                    {
                        ModelWarmupRunner.Run(config, dir, instance, cancellationToken);
                        generative = GenerativeModel.IsGenerative(config) ? GenerativeModel.Create(config, versions[v], dir, instance, _time, backend as IJinjaChatTemplates, modelPath) : null;
                    }
                    catch
                    {
                        instance.Dispose();
                        throw;
                    }

                    // The process's resident growth over the load and warm-up, at least the model file (a reload
                    // may reuse memory the allocator kept, and loads of other models may overlap: an estimate).
                    var resident = Math.Max(Lifecycle.ResidentBytes() - residentBefore, FileBytes(modelPath));
                    loaded.Add(new VersionSlot(v)
                    {
                        State = ModelState.Ready,
                        Reason = "",
                        Model = new ServedModel(name, v, config, dir, instance, processing, LifetimeTotals(name, v), _time, ResponseCache, generative) { ResidentBytes = resident },
                        Phases = instance is ITimedLoad timed ? new LoadPhases(timed.SessionCreation, Stopwatch.GetElapsedTime(loadStart) - timed.SessionCreation) : null,
                    });
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    loaded.Add(new VersionSlot(v) { State = ModelState.Unavailable, Reason = e.Message });
                    LogLoadFailed(_logger, name, v, e.Message);
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            MarkFailed(entry, e.Message);
            LogLoadFailed(_logger, name, null, e.Message);
            throw e as ProntoException ?? new ProntoException(ErrorCode.InvalidArgument, e.Message, e);
        }

        // Swap in the new versions, then retire what they replace (after its in-flight requests).
        List<VersionSlot> retired;
        lock (_gate)
        {
            retired = [.. entry.Versions.Values.Where(s => s.Model is not null)];
            entry.Versions.Clear();
            foreach (var slot in loaded)
            {
                entry.Versions[slot.Version] = slot;
            }

            var failures = loaded.Where(s => s.State != ModelState.Ready).ToList();
            entry.Reason = failures.Count == 0 ? null : failures[0].Reason;
            entry.Unloaded = false;
            entry.UnloadRequested = false;
            entry.LoadFailed = failures.Count > 0;
            if (loaded.Any(static s => s.Model is not null))
            {
                entry.LastResidentBytes = loaded.Sum(static s => s.Model?.ResidentBytes ?? 0);
            }
        }

        foreach (var slot in retired)
        {
            slot.Model!.Retire();
            OnUnloaded(name, slot.Version, UnloadReason.Replaced);
        }

        var loadTime = _time.GetElapsedTime(started);
        foreach (var slot in loaded.Where(static s => s.State == ModelState.Ready))
        {
            OnLoaded(name, slot.Version, loadTime, onDemand, slot.Phases);
        }

        var failed = loaded.FirstOrDefault(s => s.State != ModelState.Ready);
        if (failed is not null)
        {
            ProntoErrors.Unavailable($"model '{name}' version {failed.Version} failed to load: {failed.Reason}");
        }

        LogLoaded(_logger, name, string.Join(", ", loaded.Select(s => s.Version)));
    }

    private void MarkFailed(ModelEntry entry, string reason)
    {
        lock (_gate)
        {
            entry.LoadFailed = true;
            entry.Unloaded = false;
            foreach (var slot in entry.Versions.Values)
            {
                if (slot.Model is null)
                {
                    slot.State = ModelState.Unavailable;
                    slot.Reason = reason;
                }
            }

            // With no version row left, the index shows the model once with this reason.
            entry.Reason = reason;
        }
    }

    private static ModelConfig Complete(ModelConfig? declared, ModelConfig derived)
    {
        if (declared is null)
        {
            return derived;
        }

        // Triton's auto-complete: what the config leaves out is read from the model.
        if (declared.Inputs.Count == 0)
        {
            declared.Inputs.AddRange(derived.Inputs);
            if (declared.MaxBatchSize == 0)
            {
                declared.MaxBatchSize = derived.MaxBatchSize;
            }
        }

        if (declared.Outputs.Count == 0)
        {
            declared.Outputs.AddRange(derived.Outputs);
        }

        return declared;
    }

    /// <summary>
    /// A version folder in ONNX Runtime GenAI's layout (genai_config.json) is a generative model of platform
    /// <c>onnxruntime_genai</c> whose file is the config's decoder; a config.pbtxt beside it may add settings (its
    /// inputs and outputs are derived from the decoder when it lists none).
    /// </summary>
    private static ModelConfig GenaiModel(ModelConfig? config, string name, GenaiConfig genai)
    {
        config ??= new ModelConfig { Name = name };
        if (config.Platform is not (null or "" or ModelConfig.OnnxPlatform or ModelConfig.GenaiPlatform))
        {
            ProntoErrors.InvalidArgument($"model '{name}' has a {GenaiConfig.FileName}, so its platform is '{ModelConfig.GenaiPlatform}', but config.pbtxt says '{config.Platform}'");
        }

        config.Platform = ModelConfig.GenaiPlatform;
        config.DefaultModelFilename ??= genai.DecoderFile;
        config.Parameters[ProntoParameters.Generative] = "true";
        return config;
    }

    private IModelBackend FindBackend(ModelConfig config)
    {
        foreach (var b in _backends)
        {
            if (b.Accepts(config))
            {
                return b;
            }
        }

        return ProntoErrors.InvalidArgument<IModelBackend>(
            $"model '{config.Name}': no backend serves platform '{config.Platform}' / backend '{config.Backend}' (Pronto serves {string.Join(", ", _backends.Select(b => b.Platform))})");
    }

    private ModelEntry GetOrAddEntry(string name)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_models.TryGetValue(name, out var entry))
            {
                entry = new ModelEntry(name);
                _models[name] = entry;
            }

            return entry;
        }
    }

    private static long FileBytes(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    private static SortedDictionary<long, string> ListVersions(string modelDir)
    {
        var versions = new SortedDictionary<long, string>();
        foreach (var dir in Directory.EnumerateDirectories(modelDir))
        {
            if (long.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0)
            {
                versions[v] = dir;
            }
        }

        return versions;
    }

    private sealed class ModelEntry(string name)
    {
        public string Name { get; } = name;

        public SemaphoreSlim LoadGate { get; } = new(1, 1);

        public Dictionary<long, VersionSlot> Versions { get; } = [];

        public string? Reason { get; set; }

        /// <summary>Unloaded (asked for, idle or evicted), as opposed to never loaded or failed.</summary>
        public bool Unloaded { get; set; }

        /// <summary>Unloaded because someone asked: stays unloaded until an explicit load.</summary>
        public bool UnloadRequested { get; set; }

        /// <summary>The last load failed: on-demand loading does not retry it on every request.</summary>
        public bool LoadFailed { get; set; }

        /// <summary>The on-demand load in progress, shared by every request that waits for it.</summary>
        public Task? PendingLoad { get; set; }

        /// <summary>The idle time the last request's <c>keep_alive</c> asked for (infinite: pinned); null: the default.</summary>
        public TimeSpan? KeepAlive { get; set; }

        /// <summary>Resident bytes of its versions when last loaded: what loading it again is expected to take.</summary>
        public long? LastResidentBytes { get; set; }
    }

    private sealed class VersionSlot(long version)
    {
        public long Version { get; } = version;

        public ModelState State { get; set; }

        public string? Reason { get; set; }

        public ServedModel? Model { get; init; }

        /// <summary>The load's split, when the backend timed its session.</summary>
        public LoadPhases? Phases { get; init; }
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Model {Model} ready (versions {Versions})")]
    private static partial void LogLoaded(ILogger logger, string model, string versions);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Model {Model} version {Version} failed to load: {Reason}")]
    private static partial void LogLoadFailed(ILogger logger, string model, long? version, string reason);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Model {Model} unloaded ({Reason})")]
    private static partial void LogUnloaded(ILogger logger, string model, string reason);
}
