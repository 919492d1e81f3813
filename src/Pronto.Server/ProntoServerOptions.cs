using Pronto.Core.Repository;
using Pronto.Onnx;

namespace Pronto.Server;

/// <summary>
/// Settings of <c>pronto serve</c>, bound from configuration section <c>Pronto</c>: appsettings.json,
/// environment variables (<c>Pronto__HttpPort=9000</c>) and command-line flags, as the Generic Host does.
/// </summary>
public sealed class ProntoServerOptions
{
    public const string Section = "Pronto";

    /// <summary>Model repository folder; required (`pronto serve` prepares the bundled repository and passes it when none is given).</summary>
    public string? ModelRepository { get; set; }

    /// <summary>Address to bind. Loopback by default: exposing the server is a deliberate choice.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>HTTP/1.1 port of REST, OpenAI routes and /metrics (Triton's 8000); 0 picks a free port.</summary>
    public int HttpPort { get; set; } = 8000;

    /// <summary>HTTP/2 (cleartext) port of gRPC (Triton's 8001); 0 picks a free port.</summary>
    public int GrpcPort { get; set; } = 8001;

    /// <summary>Keys accepted as <c>Authorization: Bearer KEY</c> for inference and metadata; none = no authentication.</summary>
    public List<string> ApiKeys { get; init; } = [];

    /// <summary>The repository API (index, load, unload) is off unless enabled; when on it needs an admin key.</summary>
    public bool EnableRepositoryApi { get; set; }

    /// <summary>Keys accepted for the repository API.</summary>
    public List<string> AdminKeys { get; init; } = [];

    /// <summary>Largest request body in bytes (REST); larger requests get 413. 64 MiB holds a batch of 100 images as FP32.</summary>
    public long MaxRequestBodyBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Largest gRPC message in bytes, both directions; gRPC's own default of 4 MiB rejects real image batches.</summary>
    public int MaxGrpcMessageBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>Maximum nesting of a JSON request body (envelope plus data arrays).</summary>
    public int MaxJsonDepth { get; set; } = 32;

    /// <summary>Maximum elements of one tensor in a request, JSON or binary.</summary>
    public long MaxTensorElements { get; set; } = 16_777_216;

    /// <summary>How long shutdown waits for in-flight requests (new ones get 503 meanwhile); then their connections close.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Queue-wait budget of every model whose config sets none (<c>pronto.queue_wait_budget_ms</c> or Triton's
    /// <c>default_timeout_microseconds</c>): a request whose wait, estimated from the model's measured run time, exceeds
    /// it is refused at once with 503 and Retry-After; one still waiting when it runs out gets that 503 then. 0: none.
    /// </summary>
    public int QueueWaitBudgetMs { get; set; } = (int)Core.Scheduling.QueueBudget.DefaultBudget.TotalMilliseconds;

    /// <summary>Most inputs of one /v1/embeddings request (OpenAI's own limit, 2,048); more is a 400.</summary>
    public int MaxEmbeddingInputs { get; set; } = 2048;

    /// <summary>Load every model of the repository at start (Triton's default); otherwise only <see cref="Preload"/>, the
    /// rest through the repository API (or on demand, with idle unloading or a bound).</summary>
    public bool LoadAllModels { get; set; } = true;

    /// <summary>
    /// Seconds a model may stay idle before it unloads (scale to zero); the next request loads it again and waits.
    /// 0: never (a model's <c>pronto.idle_unload_seconds</c> and a request's <c>keep_alive</c> still apply).
    /// </summary>
    public int IdleUnloadSeconds { get; set; }

    /// <summary>At most this many models loaded; loading one more unloads the least recently used. 0: no bound.
    /// With a bound only <see cref="Preload"/> models load at start, the rest on their first request.</summary>
    public int MaxLoadedModels { get; set; }

    /// <summary>At most this many MB of loaded models' resident memory (measured at each load); loading one more unloads
    /// the least recently used until it fits. 0: no bound. With a bound only <see cref="Preload"/> models load at start.</summary>
    public int MaxLoadedMemoryMb { get; set; }

    /// <summary>Models loaded at start and pinned: never unloaded for idleness or to make room.</summary>
    public List<string> Preload { get; init; } = [];

    /// <summary>
    /// Bytes the response cache may hold (keys and outputs of every model whose config has <c>response_cache { enable: true }</c>;
    /// least recently used evicted first); 0 turns the cache off.
    /// </summary>
    public long ResponseCacheBytes { get; set; } = Core.Inference.ResponseCache.DefaultCapacityBytes;

    /// <summary>Price of one CPU hour; above 0 the engine's CPU-seconds are also reported as money (<c>pronto_cost_total</c>, the statistics' <c>cost</c>).</summary>
    public double PricePerCpuHour { get; set; }

    /// <summary>
    /// Count each engine run's CPU time (two thread-CPU clock readings, system calls, per run); false turns the cost
    /// counters off (they stay 0) for the last microsecond on the smallest models.
    /// </summary>
    public bool MeasureEngineCpu { get; set; } = true;

    /// <summary>
    /// Read the thread CPU clock on one engine run in this many per model and estimate the others from their wall time
    /// and the model's sampled CPU / wall ratio (<see cref="Core.Inference.CpuClock.Sampled"/>); 1 reads it on every run (exact).
    /// </summary>
    public int EngineCpuSampleEvery { get; set; } = DefaultEngineCpuSampleEvery;

    /// <summary>The default of <see cref="EngineCpuSampleEvery"/> (docs/benchmarks.md, Serving operations: the overhead it leaves).</summary>
    public const int DefaultEngineCpuSampleEvery = 32;

    public OnnxBackendOptions Onnx { get; init; } = new();

    /// <summary>Scheduled batch jobs (cron schedules; docs/batch.md "Scheduled jobs"); also read from <see cref="JobsFile"/>.</summary>
    public List<Jobs.ScheduledJobOptions> Jobs { get; init; } = [];

    /// <summary>A JSON file holding an array of jobs (or <c>{"jobs": [...]}</c>), added to <see cref="Jobs"/> (<c>pronto serve --jobs FILE</c>).</summary>
    public string? JobsFile { get; set; }

    /// <summary>Folder of the server's durable state (the scheduled runs' history, jobs.jsonl); default $XDG_STATE_HOME/pronto or ~/.local/state/pronto.</summary>
    public string? StateDirectory { get; set; }

    /// <summary>The state folder these options name.</summary>
    public string StateFolder() => !string.IsNullOrEmpty(StateDirectory)
        ? Path.GetFullPath(StateDirectory)
        : Path.Combine(Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } xdg ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state"), "pronto");

    /// <summary>The repository's lifecycle policy these options describe.</summary>
    public ModelLifecyclePolicy Lifecycle() => new()
    {
        IdleUnload = TimeSpan.FromSeconds(IdleUnloadSeconds),
        MaxLoadedModels = MaxLoadedModels,
        MaxLoadedBytes = (long)MaxLoadedMemoryMb << 20,
        Pinned = new HashSet<string>(Preload, StringComparer.Ordinal),
    };

    /// <summary>Throws naming the option when a value cannot work; start-up fails with that message.</summary>
    public void Validate()
    {
        Check(HttpPort is >= 0 and <= 65535, nameof(HttpPort), "must be 0..65535");
        Check(GrpcPort is >= 0 and <= 65535, nameof(GrpcPort), "must be 0..65535");
        Check(HttpPort == 0 || HttpPort != GrpcPort, nameof(GrpcPort), "must differ from HttpPort");
        Check(MaxRequestBodyBytes > 0, nameof(MaxRequestBodyBytes), "must be positive");
        Check(MaxGrpcMessageBytes > 0, nameof(MaxGrpcMessageBytes), "must be positive");
        Check(MaxJsonDepth is >= 4 and <= 256, nameof(MaxJsonDepth), "must be 4..256");
        Check(MaxTensorElements > 0, nameof(MaxTensorElements), "must be positive");
        Check(MaxEmbeddingInputs > 0, nameof(MaxEmbeddingInputs), "must be positive");
        Check(ShutdownTimeout >= TimeSpan.Zero, nameof(ShutdownTimeout), "must not be negative");
        Check(ResponseCacheBytes >= 0, nameof(ResponseCacheBytes), "must be 0 (off) or positive");
        Check(PricePerCpuHour >= 0 && double.IsFinite(PricePerCpuHour), nameof(PricePerCpuHour), "must be 0 (off) or a positive number");
        Check(!EnableRepositoryApi || AdminKeys.Count > 0, nameof(AdminKeys), "needs at least one key when EnableRepositoryApi is true");
        Check(!ApiKeys.Exists(string.IsNullOrWhiteSpace) && !AdminKeys.Exists(string.IsNullOrWhiteSpace), nameof(ApiKeys), "must not contain empty keys");
        Check(EngineCpuSampleEvery >= 1, nameof(EngineCpuSampleEvery), "must be 1 (every run) or more");
        Check(IdleUnloadSeconds >= 0, nameof(IdleUnloadSeconds), "must be 0 (never) or more");
        Check(QueueWaitBudgetMs >= 0, nameof(QueueWaitBudgetMs), "must be 0 (no budget) or more");
        Check(MaxLoadedModels >= 0, nameof(MaxLoadedModels), "must be 0 (no bound) or more");
        Check(MaxLoadedMemoryMb >= 0, nameof(MaxLoadedMemoryMb), "must be 0 (no bound) or more");
        Check(MaxLoadedModels == 0 || Preload.Count <= MaxLoadedModels, nameof(Preload), $"names {Preload.Count} models, more than MaxLoadedModels {MaxLoadedModels}");
        Check(Preload.TrueForAll(Pronto.Core.Repository.ModelRepository.IsValidName), nameof(Preload), "must name models (letters, digits, '-', '_', '.')");
        Onnx.Validate();
        LoadJobsFile();
        for (var i = 0; i < Jobs.Count; i++)
        {
            Jobs[i].Validate(i);
        }

        var twice = Jobs.GroupBy(j => j.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        Check(twice is null, nameof(Jobs), $"name '{twice?.Key}' more than one job");
    }

    private bool _jobsFileLoaded;

    private void LoadJobsFile()
    {
        if (string.IsNullOrEmpty(JobsFile) || _jobsFileLoaded)
        {
            return;
        }

        _jobsFileLoaded = true;
        Check(File.Exists(JobsFile), nameof(JobsFile), $"'{JobsFile}' does not exist");
        try
        {
            var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(JobsFile));
            var array = json.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object && json.RootElement.TryGetProperty("jobs", out var inner) ? inner : json.RootElement;
            var web = new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web) { TypeInfoResolver = Pronto.Server.Jobs.JobJsonContext.Default };
            Jobs.AddRange(System.Text.Json.JsonSerializer.Deserialize(array, Pronto.Server.Jobs.JobJsonContext.Info<List<Jobs.ScheduledJobOptions>>(web)) ?? []);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidOperationException($"Pronto:JobsFile '{JobsFile}' is not a JSON array of jobs: {e.Message}", e);
        }
    }

    private static void Check(bool ok, string name, string rule)
    {
        if (!ok)
        {
            throw new InvalidOperationException($"Pronto:{name} {rule}.");
        }
    }
}
