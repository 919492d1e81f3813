using System.Diagnostics;
using Pronto.Core.Repository;
using Prometheus;

namespace Pronto.Server.Metrics;

/// <summary>
/// Prometheus metrics with Triton's names (labels <c>model</c>, <c>version</c>), read from each model version's
/// <see cref="ModelStatistics"/> when /metrics is scraped, plus Pronto's own request-latency histogram.
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
    private readonly Gauge _running;
    private readonly Gauge _waiting;
    private readonly Counter _promptTokens;
    private readonly Counter _generationTokens;

    public ServerMetrics(ModelRepository repository)
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

        // Generative models, vLLM's set renamed (docs/generative.md): vllm:num_requests_running, num_requests_waiting,
        // prompt_tokens_total, generation_tokens_total.
        _running = factory.CreateGauge("pronto_generation_running_sequences", "Sequences in the decode loop's running batch", ModelLabels);
        _waiting = factory.CreateGauge("pronto_generation_waiting_sequences", "Sequences waiting to join the running batch", ModelLabels);
        _promptTokens = factory.CreateCounter("pronto_prompt_tokens_total", "Prompt tokens prefilled", ModelLabels);
        _generationTokens = factory.CreateCounter("pronto_generation_tokens_total", "Tokens generated", ModelLabels);
        Registry.AddBeforeCollectCallback(Refresh);
    }

    public CollectorRegistry Registry { get; }

    /// <summary>Records one finished request's latency from <paramref name="startTimestamp"/> (Stopwatch ticks).</summary>
    public void ObserveRequest(string model, string protocol, long startTimestamp) =>
        _latency.WithLabels(model, protocol).Observe(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);

    private void Refresh()
    {
        foreach (var model in _repository.ReadyModels())
        {
            var s = model.Statistics.Snapshot();
            string[] labels = [model.Name, model.VersionText];
            _success.WithLabels(labels).IncTo(s.Success.Count);
            foreach (var reason in Enum.GetValues<FailureReason>())
            {
                _failure.WithLabels(model.Name, model.VersionText, reason.ToString().ToUpperInvariant()).IncTo(model.Statistics.Failures(reason));
            }

            _inferenceCount.WithLabels(labels).IncTo(s.InferenceCount);
            _executionCount.WithLabels(labels).IncTo(s.ExecutionCount);
            _pending.WithLabels(labels).Set(model.InFlight);
            _requestDuration.WithLabels(labels).IncTo((s.Success.Ns + s.Fail.Ns) / 1000.0);
            _queueDuration.WithLabels(labels).IncTo(s.Queue.Ns / 1000.0);
            _inputDuration.WithLabels(labels).IncTo(s.ComputeInput.Ns / 1000.0);
            _inferDuration.WithLabels(labels).IncTo(s.ComputeInfer.Ns / 1000.0);
            _outputDuration.WithLabels(labels).IncTo(s.ComputeOutput.Ns / 1000.0);
            if (model.Generative?.Engine is { } engine)
            {
                _running.WithLabels(labels).Set(engine.Running);
                _waiting.WithLabels(labels).Set(engine.Waiting);
                _promptTokens.WithLabels(labels).IncTo(engine.PromptTokens);
                _generationTokens.WithLabels(labels).IncTo(engine.GeneratedTokens);
            }
        }
    }
}
