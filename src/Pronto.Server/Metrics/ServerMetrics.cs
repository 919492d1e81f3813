using System.Diagnostics;
using System.Globalization;
using Pronto.Core.Repository;
using Prometheus;

namespace Pronto.Server.Metrics;

/// <summary>
/// Prometheus metrics with Triton's names (labels <c>model</c>, <c>version</c>), read from each model version's
/// lifetime <see cref="ModelStatistics"/> (summed over its loads) when /metrics is scraped, plus Pronto's own: the request-latency
/// histogram, the engine's cost (<c>pronto_cost_cpu_seconds_total</c>, money with a price per CPU hour) and the response cache.
/// One registry per server, so several servers in one process (tests) do not share counters.
/// </summary>
internal sealed class ServerMetrics
{
    private static readonly string[] ModelLabels = ["model", "version"];
    private readonly ModelRepository _repository;
    private readonly Counter _success;
    private readonly Counter _failure;
    private readonly Counter _inferenceCount;
    private readonly Counter _executionCount;
    private readonly Gauge _pending;
    private readonly Counter _requestDuration;
    private readonly Counter _queueDuration;
    private readonly Counter _inputDuration;
    private readonly Counter _inferDuration;
    private readonly Counter _outputDuration;
    private readonly Histogram _latency;
    private readonly Counter _loads;
    private readonly Counter _unloads;
    private readonly Histogram _coldStart;
    private readonly Histogram _coldStartPhase;
    private readonly Gauge _running;
    private readonly Gauge _waiting;
    private readonly Counter _promptTokens;
    private readonly Counter _generationTokens;
    private readonly Counter _preemptions;
    private readonly Gauge _cachedTokens;
    private readonly Gauge _cacheBudgetUse;
    private readonly Gauge _cacheUsage;
    private readonly Histogram _firstToken;
    private readonly Histogram _interToken;
    private readonly Histogram _endToEnd;
    private readonly Histogram _choiceTokens;
    private readonly Histogram _choicePromptTokens;
    private readonly Histogram _queueTime;
    private readonly Lock _refreshGate = new();
    private Dictionary<object, (long Prompt, long Generated, long Preemptions)> _engineTokens = new(ReferenceEqualityComparer.Instance);
    private readonly Counter _costCpu;
    private readonly Gauge _costPerThousand;
    private readonly Counter? _cost;
    private readonly double _pricePerCpuSecond;
    private readonly Counter _cacheHits;
    private readonly Counter _cacheMisses;
    private readonly Counter _cacheHitDuration;
    private readonly Counter _cacheMissDuration;
    private readonly Gauge _cacheBytes;
    private readonly Gauge _cacheEntries;
    private readonly Counter _cacheEvictions;

    public ServerMetrics(ModelRepository repository, ProntoServerOptions options)
    {
        _repository = repository;
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        _success = factory.CreateCounter("nv_inference_request_success", "Number of successful inference requests, all batch sizes", ModelLabels);
        _failure = factory.CreateCounter("nv_inference_request_failure", "Number of failed inference requests, all batch sizes", ["model", "version", "reason"]);
        _inferenceCount = factory.CreateCounter("nv_inference_count", "Number of inferences performed (a batch of n counts n)", ModelLabels);
        _executionCount = factory.CreateCounter("nv_inference_exec_count", "Number of model executions performed", ModelLabels);
        _pending = factory.CreateGauge("nv_inference_pending_request_count", "Instantaneous number of pending requests awaiting execution", ModelLabels);
        _requestDuration = factory.CreateCounter("nv_inference_request_duration_us", "Cumulative inference request duration in microseconds", ModelLabels);
        _queueDuration = factory.CreateCounter("nv_inference_queue_duration_us", "Cumulative inference queuing duration in microseconds", ModelLabels);
        _inputDuration = factory.CreateCounter("nv_inference_compute_input_duration_us", "Cumulative compute input duration in microseconds", ModelLabels);
        _inferDuration = factory.CreateCounter("nv_inference_compute_infer_duration_us", "Cumulative compute inference duration in microseconds", ModelLabels);
        _outputDuration = factory.CreateCounter("nv_inference_compute_output_duration_us", "Cumulative inference compute output duration in microseconds", ModelLabels);
        _latency = factory.CreateHistogram("pronto_request_duration_seconds", "Inference request latency seen by the server, from body read to response written", new HistogramConfiguration
        {
            LabelNames = ["model", "protocol"],

            // 100 us .. ~3 s: small tabular models answer in well under a millisecond, images in tens.
            Buckets = Histogram.ExponentialBuckets(0.0001, 2, 16),
        });
        _loads = factory.CreateCounter("pronto_model_loads_total", "Model version loads (at start, through the repository API, or on demand)", ModelLabels);
        _unloads = factory.CreateCounter("pronto_model_unloads_total", "Model version unloads by reason: requested, idle, evicted (least recently used under --max-loaded-models), replaced (by a reload)", ["model", "version", "reason"]);
        _coldStart = factory.CreateHistogram("pronto_model_cold_start_seconds", "Load time of a model version loaded on demand by a request (session creation and warm-up)", new HistogramConfiguration
        {
            LabelNames = ["model"],

            // 10 ms .. ~160 s.
            Buckets = Histogram.ExponentialBuckets(0.01, 2, 15),
        });
        _coldStartPhase = factory.CreateHistogram("pronto_model_cold_start_phase_seconds", "The cold start's split, per version loaded on demand: phase session (the engine session's creation: parsing, graph optimisation) and warmup (everything after it: warm-up runs, model_warmup samples)", new HistogramConfiguration
        {
            LabelNames = ["model", "phase"],

            // 1 ms .. ~16 s.
            Buckets = Histogram.ExponentialBuckets(0.001, 2, 15),
        });
        repository.ModelLoaded += OnLoaded;
        repository.ModelUnloaded += e => _unloads.WithLabels(e.Model, Version(e.Version), e.Reason.ToString().ToLowerInvariant()).Inc();

        // Generative models, vLLM's set renamed (docs/generative.md): vllm:num_requests_running, num_requests_waiting,
        // prompt_tokens_total, generation_tokens_total, num_preemptions_total.
        _running = factory.CreateGauge("pronto_generation_running_sequences", "Sequences in the decode loop's running batch", ModelLabels);
        _waiting = factory.CreateGauge("pronto_generation_waiting_sequences", "Sequences waiting to join the running batch", ModelLabels);
        _promptTokens = factory.CreateCounter("pronto_prompt_tokens_total", "Prompt tokens prefilled", ModelLabels);
        _generationTokens = factory.CreateCounter("pronto_generation_tokens_total", "Tokens generated", ModelLabels);
        _cachedTokens = factory.CreateGauge("pronto_generation_kv_cache_tokens", "Tokens the running sequences' KV caches hold", ModelLabels);
        _cacheUsage = factory.CreateGauge("pronto_generation_kv_cache_bytes", "Bytes the running sequences' KV caches hold (keys and values of every layer, in the cache type: FP32 or FP16)", ModelLabels);
        _cacheBudgetUse = factory.CreateGauge("pronto_generation_kv_cache_usage_ratio", "Share of the model's KV-cache budget (pronto.generative.max_cache_tokens) the running sequences' caches hold; only for models with a budget", ModelLabels);
        _preemptions = factory.CreateCounter("pronto_generation_preemptions_total", "Running sequences preempted to keep the batch within the KV-cache budget (their caches recomputed when they join again)", ModelLabels);

        // vllm:time_to_first_token_seconds and vllm:inter_token_latency_seconds, measured where the OpenAI routes
        // receive each choice's tokens: from the request's start (queueing and prefill included), then between tokens.
        var tokenBuckets = Histogram.ExponentialBuckets(0.0005, 2, 20); // 0.5 ms .. ~4 min: a tiny model's token takes well under a millisecond
        _firstToken = factory.CreateHistogram("pronto_time_to_first_token_seconds", "Time from a generation request's start to each choice's first token", new HistogramConfiguration { LabelNames = ["model"], Buckets = tokenBuckets });
        _interToken = factory.CreateHistogram("pronto_inter_token_latency_seconds", "Time between a choice's consecutive tokens", new HistogramConfiguration { LabelNames = ["model"], Buckets = tokenBuckets });

        // vllm:e2e_request_latency_seconds, request_prompt_tokens and request_generation_tokens, per choice that ran to
        // its end; vllm:request_queue_time_seconds, per choice when its first token comes (the engine measured it).
        _endToEnd = factory.CreateHistogram("pronto_e2e_request_latency_seconds", "Time from a generation request's start to each choice's last token, for choices that finished", new HistogramConfiguration { LabelNames = ["model"], Buckets = tokenBuckets });
        double[] countBuckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000];
        _choiceTokens = factory.CreateHistogram("pronto_request_generation_tokens", "Tokens each finished choice generated", new HistogramConfiguration { LabelNames = ["model"], Buckets = countBuckets });
        _choicePromptTokens = factory.CreateHistogram("pronto_request_prompt_tokens", "Prompt tokens of each finished choice", new HistogramConfiguration { LabelNames = ["model"], Buckets = countBuckets });
        _queueTime = factory.CreateHistogram("pronto_request_queue_time_seconds", "Time each choice's sequence waited in the model's queue before it joined the decode loop's batch", new HistogramConfiguration { LabelNames = ["model"], Buckets = tokenBuckets });

        _costCpu = factory.CreateCounter("pronto_cost_cpu_seconds_total", "Engine CPU seconds of the model's executions (CPU time of the thread that ran each; docs/serving.md, Cost)", ModelLabels);
        _costPerThousand = factory.CreateGauge("pronto_cost_cpu_seconds_per_1000_inferences", "Engine CPU seconds per 1,000 inferences (nv_inference_count) over the version's lifetime", ModelLabels);
        if (options.PricePerCpuHour > 0)
        {
            _pricePerCpuSecond = options.PricePerCpuHour / 3600;
            _cost = factory.CreateCounter("pronto_cost_total", "Engine CPU cost in money: pronto_cost_cpu_seconds_total times --price-per-cpu-hour / 3600", ModelLabels);
        }

        // Triton's response cache metrics per model, and Pronto's for the one cache all models share.
        _cacheHits = factory.CreateCounter("nv_cache_num_hits_per_model", "Number of response cache hits per model", ModelLabels);
        _cacheMisses = factory.CreateCounter("nv_cache_num_misses_per_model", "Number of response cache misses per model", ModelLabels);
        _cacheHitDuration = factory.CreateCounter("nv_cache_hit_duration_per_model", "Total response cache hit duration per model, in microseconds", ModelLabels);
        _cacheMissDuration = factory.CreateCounter("nv_cache_miss_duration_per_model", "Total response cache miss duration per model (lookup and insertion), in microseconds", ModelLabels);
        _cacheBytes = factory.CreateGauge("pronto_response_cache_bytes", "Bytes the response cache holds");
        _cacheEntries = factory.CreateGauge("pronto_response_cache_entries", "Responses the response cache holds");
        _cacheEvictions = factory.CreateCounter("pronto_response_cache_evictions_total", "Responses evicted from the response cache to make room");
        Registry.AddBeforeCollectCallback(Refresh);
    }

    public CollectorRegistry Registry { get; }

    /// <summary>A choice's first token, <paramref name="seconds"/> after its request started, after <paramref name="queueTime"/> in the queue.</summary>
    public void ObserveFirstToken(string model, double seconds, TimeSpan? queueTime)
    {
        _firstToken.WithLabels(model).Observe(seconds);
        if (queueTime is { } queued)
        {
            _queueTime.WithLabels(model).Observe(queued.TotalSeconds);
        }
    }

    /// <summary><paramref name="seconds"/> between two tokens of one choice.</summary>
    public void ObserveInterToken(string model, double seconds) => _interToken.WithLabels(model).Observe(seconds);

    /// <summary>A choice that finished: <paramref name="seconds"/> from its request's start to its last token, its prompt's and its own <paramref name="tokens"/>.</summary>
    public void ObserveFinishedChoice(string model, double seconds, int promptTokens, int tokens)
    {
        _endToEnd.WithLabels(model).Observe(seconds);
        _choicePromptTokens.WithLabels(model).Observe(promptTokens);
        _choiceTokens.WithLabels(model).Observe(tokens);
    }

    /// <summary>Records one finished request's latency from <paramref name="startTimestamp"/> (Stopwatch ticks).</summary>
    public void ObserveRequest(string model, string protocol, long startTimestamp) =>
        _latency.WithLabels(model, protocol).Observe(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);

    private void OnLoaded(ModelLoadedEvent e)
    {
        _loads.WithLabels(e.Model, Version(e.Version)).Inc();
        if (e.OnDemand)
        {
            _coldStart.WithLabels(e.Model).Observe(e.LoadTime.TotalSeconds);
            if (e.Phases is { } phases)
            {
                _coldStartPhase.WithLabels(e.Model, "session").Observe(phases.Session.TotalSeconds);
                _coldStartPhase.WithLabels(e.Model, "warmup").Observe(phases.WarmUp.TotalSeconds);
            }
        }
    }

    private static string Version(long version) => version.ToString(CultureInfo.InvariantCulture);

    private void Refresh()
    {
        lock (_refreshGate)
        {
            RefreshLocked();
        }
    }

    private void RefreshLocked()
    {
        // Counters come from each version's lifetime totals, which every load records into, so they keep counting
        // across unload and reload (set with IncTo: the totals only grow). Pending is what is inside a load now.
        var pending = _repository.ReadyModels().ToDictionary(static m => (m.Name, m.Version), static m => m.InFlight);
        foreach (var (name, version, statistics) in _repository.LifetimeStatistics())
        {
            var s = statistics.Snapshot();
            string[] labels = [name, Version(version)];
            _success.WithLabels(labels).IncTo(s.Success.Count);
            foreach (var reason in Enum.GetValues<FailureReason>())
            {
                _failure.WithLabels(labels[0], labels[1], reason.ToString().ToUpperInvariant()).IncTo(statistics.Failures(reason));
            }

            _inferenceCount.WithLabels(labels).IncTo(s.InferenceCount);
            _executionCount.WithLabels(labels).IncTo(s.ExecutionCount);
            _pending.WithLabels(labels).Set(pending.GetValueOrDefault((name, version)));
            _requestDuration.WithLabels(labels).IncTo((s.Success.Ns + s.Fail.Ns) / 1000.0);
            _queueDuration.WithLabels(labels).IncTo(s.Queue.Ns / 1000.0);
            _inputDuration.WithLabels(labels).IncTo(s.ComputeInput.Ns / 1000.0);
            _inferDuration.WithLabels(labels).IncTo(s.ComputeInfer.Ns / 1000.0);
            _outputDuration.WithLabels(labels).IncTo(s.ComputeOutput.Ns / 1000.0);
            _costCpu.WithLabels(labels).IncTo(s.CostCpuSeconds);
            _costPerThousand.WithLabels(labels).Set(s.CostCpuSecondsPer1000Inferences);
            _cost?.WithLabels(labels).IncTo(s.CostCpuSeconds * _pricePerCpuSecond);
            if (s.CacheHit.Count + s.CacheMiss.Count > 0)
            {
                // Only versions that looked the cache up (their config enables it), as Triton reports them.
                _cacheHits.WithLabels(labels).IncTo(s.CacheHit.Count);
                _cacheMisses.WithLabels(labels).IncTo(s.CacheMiss.Count);
                _cacheHitDuration.WithLabels(labels).IncTo(s.CacheHit.Ns / 1000.0);
                _cacheMissDuration.WithLabels(labels).IncTo(s.CacheMiss.Ns / 1000.0);
            }
        }

        // Generative engines count per load: add what each one counted since the last scrape, so the counters keep
        // counting across reloads (a new engine starts from zero).
        var seen = new Dictionary<object, (long Prompt, long Generated, long Preemptions)>(ReferenceEqualityComparer.Instance);
        foreach (var model in _repository.ReadyModels())
        {
            if (model.Generative is not { } generative)
            {
                continue;
            }

            // A model's engines (one per instance_group instance) report as one: their sums.
            string[] labels = [model.Name, model.VersionText];
            var engines = generative.Engines;
            var cached = engines.Sum(e => e.CachedTokens);
            _running.WithLabels(labels).Set(engines.Sum(e => e.Running));
            _waiting.WithLabels(labels).Set(engines.Sum(e => e.Waiting));
            _cachedTokens.WithLabels(labels).Set(cached);
            _cacheUsage.WithLabels(labels).Set(cached * generative.Engine.CacheBytesPerToken);
            if (generative.Engine.MaxCacheTokens < int.MaxValue)
            {
                _cacheBudgetUse.WithLabels(labels).Set((double)cached / ((long)generative.Engine.MaxCacheTokens * engines.Count));
            }

            foreach (var engine in engines)
            {
                var now = (engine.PromptTokens, engine.GeneratedTokens, engine.Preemptions);
                var before = _engineTokens.GetValueOrDefault(engine);
                _promptTokens.WithLabels(labels).Inc(now.PromptTokens - before.Prompt);
                _generationTokens.WithLabels(labels).Inc(now.GeneratedTokens - before.Generated);
                _preemptions.WithLabels(labels).Inc(now.Preemptions - before.Preemptions);
                seen[engine] = now;
            }
        }

        _engineTokens = seen;

        var cache = _repository.ResponseCache;
        _cacheBytes.Set(cache.SizeBytes);
        _cacheEntries.Set(cache.Count);
        _cacheEvictions.IncTo(cache.Evictions);
    }
}
