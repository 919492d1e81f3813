using System.Diagnostics;
using Pronto.Core.Errors;
using Pronto.Core.Processing;
using Pronto.Core.Repository;
using Pronto.Core.Scheduling;

namespace Pronto.Core.Inference;

/// <summary>
/// The one inference path every front end calls: lease the model, prepare raw items if the model declares
/// processing and the request sends them, validate, run (directly, or through the model's dynamic batcher when
/// its config has <c>dynamic_batching</c> and the caller uses <see cref="InferAsync"/>; <see cref="InferDirect"/> runs on the caller's thread), produce, apply the
/// classification extension. A model whose config enables <c>response_cache</c> is looked up in the repository's
/// <see cref="ResponseCache"/> first, so every front end shares its hits; each engine run's CPU time is measured with
/// <see cref="CpuClock"/> and counted in the model's statistics (the cost).
/// </summary>
public sealed class InferenceService(ModelRepository repository, TimeProvider? timeProvider = null, CpuClock? cpuClock = null)
{
    public ModelRepository Repository { get; } = repository;

    /// <summary>The clock of the dynamic batchers (queue delays and timeouts); fake in tests.</summary>
    public TimeProvider TimeProvider { get; } = timeProvider ?? repository.TimeProvider;

    /// <summary>The clock each engine run's CPU cost is read from; fake in tests.</summary>
    public CpuClock CpuClock { get; } = cpuClock ?? CpuClock.Thread;

    /// <summary>
    /// The serving path: a model with <c>dynamic_batching</c> queues the prepared, validated request for a
    /// batched run (queue policy, priorities, cancellation while queued); any other runs on this thread once one of its
    /// <c>instance_group</c> instances is free (<see cref="ServedModel.InstanceSlots"/>), waiting cancellably until then.
    /// The response carries <c>queue_time_us</c> and <c>batch_size</c> parameters when batched.
    /// </summary>
    public async Task<InferenceResponse> InferAsync(InferenceRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var keepAlive = KeepAlive.Read(request.Parameters);
        using var lease = await Repository.AcquireAsync(request.ModelName, request.ModelVersion, cancellationToken).ConfigureAwait(false);
        var model = lease.Model;
        if (keepAlive is not null)
        {
            Repository.KeepAlive(model.Name, keepAlive.Value);
        }

        var start = Stopwatch.GetTimestamp();
        try
        {
            if (Lookup(model, request, start, out var key) is { } hit)
            {
                return hit;
            }

            var batcher = model.GetBatcher(CpuClock, QueueWaitBudget);
            var budget = model.GetQueueBudget(QueueWaitBudget);

            // Refused before preparing: under overload a request the queue turns away costs no tokenizing or decoding.
            budget?.Admit(batcher?.QueuedRows ?? Interlocked.Read(ref model._waitingRows));
            var (inputs, requested, engineOutputs) = PrepareRun(model, request);
            if (batcher is null)
            {
                // The instance's turn (queue time in the statistics); preparation above overlaps with other runs.
                var queueStart = Stopwatch.GetTimestamp();
                var readySince = TimeProvider.GetTimestamp();
                await WaitForInstanceAsync(model, budget, RowsOf(model, inputs), cancellationToken).ConfigureAwait(false);
                try
                {
                    var runStart = TimeProvider.GetTimestamp();
                    var response = Run(model, request, start, Stopwatch.GetTimestamp() - queueStart, (inputs, requested, engineOutputs), cancellationToken);
                    budget?.RecordRun(RowsOf(model, inputs), runStart, readySince);
                    return Remember(model, key, response);
                }
                finally
                {
                    model.InstanceSlots.Release();
                }
            }

            var result = await batcher.EnqueueAsync(inputs, engineOutputs, request.Parameters, cancellationToken).ConfigureAwait(false);
            var outputStart = Stopwatch.GetTimestamp();
            var outputs = Produce(model, inputs, requested, engineOutputs, result.Outputs);
            var end = Stopwatch.GetTimestamp();
            var queueTicks = (long)(result.QueueTime.TotalSeconds * Stopwatch.Frequency);
            model.Statistics.RecordRequest(RowsOf(model, inputs), end - start, queueTicks, result.InputTicks, result.InferTicks, result.OutputTicks + end - outputStart);
            var parameters = new Dictionary<string, object>(2)
            {
                [QueueTimeParameter] = (long)(result.QueueTime.Ticks / TimeSpan.TicksPerMicrosecond),
                [BatchSizeParameter] = (long)result.BatchSize,
            };
            return Remember(model, key, new InferenceResponse
            {
                ModelName = model.Name, ModelVersion = model.VersionText, Id = request.Id, Outputs = outputs, Parameters = parameters,
                EngineCpuTime = TimeSpan.FromTicks(result.CpuNs / 100), QueueTime = result.QueueTime, BatchSize = result.BatchSize,
            });
        }
        catch (Exception e)
        {
            model.Statistics.RecordFailure(ReasonOf(e), Stopwatch.GetTimestamp() - start);
            throw;
        }
    }

    /// <summary>
    /// The queue-wait budget of models whose config sets none (<see cref="QueueBudget"/>): a request whose estimated wait for
    /// an instance exceeds it is refused at once (503, Retry-After), one still waiting when it runs out is refused then.
    /// Null or zero: none (Triton's behaviour: only the queue policy bounds waiting). Batch jobs and SQL (<see cref="InferDirect"/>) never wait on it.
    /// </summary>
    public TimeSpan? QueueWaitBudget { get; init; }

    // A model without a dynamic batcher: its instance's turn, within the budget when it has one.
    private async Task WaitForInstanceAsync(ServedModel model, QueueBudget? budget, long rows, CancellationToken cancellationToken)
    {
        var slots = model.InstanceSlots;
        if (budget is null || slots.Wait(0, CancellationToken.None))
        {
            if (budget is null)
            {
                await slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        budget.Admit(Interlocked.Read(ref model._waitingRows));
        Interlocked.Add(ref model._waitingRows, rows);
        using var timeout = new CancellationTokenSource(budget.Budget, TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await slots.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw budget.TimedOut();
        }
        finally
        {
            Interlocked.Add(ref model._waitingRows, -rows);
        }
    }

    /// <summary>Response parameter: microseconds the request waited in the dynamic batcher's queue.</summary>
    public const string QueueTimeParameter = "queue_time_us";

    /// <summary>Response parameter: rows in the engine execution the request ran in.</summary>
    public const string BatchSizeParameter = "batch_size";

    /// <summary>
    /// The direct path: runs <paramref name="request"/> on the calling thread now, as one engine run of its own rows,
    /// with the same preparation, validation, response cache, production and statistics as <see cref="InferAsync"/>,
    /// but with no dynamic batcher and no wait for an <c>instance_group</c> slot. For callers that form their own
    /// batches and bring their own parallelism (batch jobs and SQL run one single-threaded engine batch per core, the
    /// CLI and fine-tuning one batch at a time); a server's requests go through <see cref="InferAsync"/>.
    /// </summary>
    public InferenceResponse InferDirect(InferenceRequest request, CancellationToken cancellationToken = default)
    {
        using var lease = Repository.Acquire(request.ModelName, request.ModelVersion);
        var model = lease.Model;
        var start = Stopwatch.GetTimestamp();
        try
        {
            if (Lookup(model, request, start, out var key) is { } hit)
            {
                return hit;
            }

            return Remember(model, key, Run(model, request, start, 0, PrepareRun(model, request), cancellationToken));
        }
        catch (Exception e)
        {
            model.Statistics.RecordFailure(ReasonOf(e), Stopwatch.GetTimestamp() - start);
            throw;
        }
    }

    /// <summary>
    /// The cached response to <paramref name="request"/> when its model caches and has it (a hit, counted); null after a
    /// miss (counted), with the <paramref name="key"/> to remember the computed response under, or when the model does not cache.
    /// </summary>
    private static InferenceResponse? Lookup(ServedModel model, InferenceRequest request, long start, out ResponseCache.Key key)
    {
        key = default;
        if (model.ResponseCache is not { } cache)
        {
            return null;
        }

        key = ResponseCache.KeyOf(model, request);
        if (!cache.TryGet(key, out var outputs))
        {
            model.Statistics.RecordCacheMiss(Stopwatch.GetTimestamp() - start);
            return null;
        }

        var elapsed = Stopwatch.GetTimestamp() - start;
        model.Statistics.RecordCacheHit(elapsed, elapsed);
        return new InferenceResponse { ModelName = model.Name, ModelVersion = model.VersionText, Id = request.Id, Outputs = outputs, FromCache = true };
    }

    /// <summary>Keeps a missed request's computed outputs in the cache (a copy); returns <paramref name="response"/>.</summary>
    private static InferenceResponse Remember(ServedModel model, ResponseCache.Key key, InferenceResponse response)
    {
        if (model.ResponseCache is { } cache)
        {
            var t0 = Stopwatch.GetTimestamp();
            cache.Add(key, response.Outputs);
            model.Statistics.RecordCacheInsert(Stopwatch.GetTimestamp() - t0);
        }

        return response;
    }

    /// <summary>Runs a prepared request on the engine now and produces its outputs; <paramref name="queueTicks"/> were spent waiting for the instance.</summary>
    private InferenceResponse Run(ServedModel model, InferenceRequest request, long start, long queueTicks, (IReadOnlyList<NamedTensor> Inputs, IReadOnlyList<RequestedOutput> Requested, List<string> EngineOutputs) prepared, CancellationToken cancellationToken)
    {
        var (inputs, requested, engineOutputs) = prepared;
        var inferStart = Stopwatch.GetTimestamp();
        var clock = model.GetCpuClock(CpuClock);
        var cpu0 = clock.Begin();
        var raw = model.Instance.Run(inputs, engineOutputs, cancellationToken);
        var cpuNs = clock.End(cpu0);
        var outputStart = Stopwatch.GetTimestamp();
        var outputs = Produce(model, inputs, requested, engineOutputs, raw);
        var end = Stopwatch.GetTimestamp();
        model.Statistics.RecordSuccess(RowsOf(model, inputs), end - start, queueTicks, inferStart - start - queueTicks, outputStart - inferStart, end - outputStart, cpuNs);
        return new InferenceResponse { ModelName = model.Name, ModelVersion = model.VersionText, Id = request.Id, Outputs = outputs, EngineCpuTime = TimeSpan.FromTicks(cpuNs / 100) };
    }

    private static long RowsOf(ServedModel model, IReadOnlyList<NamedTensor> inputs) =>
        model.Config.MaxBatchSize > 0 && inputs.Count > 0 && inputs[0].Tensor.Rank > 0 ? inputs[0].Tensor.Shape[0] : 1;

    /// <summary>Prepare raw items, validate, and resolve the engine outputs the requested ones come from.</summary>
    private static (IReadOnlyList<NamedTensor> Inputs, IReadOnlyList<RequestedOutput> Requested, List<string> EngineOutputs) PrepareRun(ServedModel model, InferenceRequest request)
    {
        var config = model.Config;
        var processing = model.Processing;

        var inputs = request.Inputs;
        var preparer = processing.Preparer;
        if (preparer is not null && inputs.Count == 1 && inputs[0].Name == preparer.InputName)
        {
            inputs = preparer.Prepare(inputs[0].Tensor);
        }
        else if (preparer is not null && FindByName(inputs, preparer.InputName) is not null)
        {
            ProntoErrors.InvalidArgument($"input '{preparer.InputName}' ({preparer.ItemDescription}) must be the request's only input");
        }

        InputValidator.Validate(config, inputs);

        var requested = request.Outputs.Count > 0 ? request.Outputs : DefaultOutputs(model);
        var producer = processing.Producer;
        var engineOutputs = new List<string>(requested.Count);
        foreach (var output in requested)
        {
            var name = producer is not null && output.Name == producer.OutputName ? producer.SourceOutput : output.Name;
            if (config.Outputs.Find(o => o.Name == name) is null)
            {
                ProntoErrors.InvalidArgument($"unknown output '{output.Name}' for model '{config.Name}'; its outputs are {string.Join(", ", OutputNames(model))}");
            }

            if (!engineOutputs.Contains(name))
            {
                engineOutputs.Add(name);
            }
        }

        return (inputs, requested, engineOutputs);
    }

    /// <summary>The requested outputs from the engine's raw ones (in <paramref name="engineOutputs"/> order): produced, classified.</summary>
    private static NamedTensor[] Produce(ServedModel model, IReadOnlyList<NamedTensor> inputs, IReadOnlyList<RequestedOutput> requested, List<string> engineOutputs, IReadOnlyList<NamedTensor> raw)
    {
        var processing = model.Processing;
        var producer = processing.Producer;
        var outputs = new NamedTensor[requested.Count];
        for (var i = 0; i < requested.Count; i++)
        {
            var output = requested[i];
            NamedTensor tensor;
            if (producer is not null && output.Name == producer.OutputName)
            {
                tensor = producer.Produce(inputs, raw[engineOutputs.IndexOf(producer.SourceOutput)]);
            }
            else
            {
                tensor = raw[engineOutputs.IndexOf(output.Name)];
            }

            if (output.Classification > 0)
            {
                tensor = new NamedTensor(tensor.Name, Classification.ToTensor(tensor.Tensor, output.Classification, processing.GetLabels(tensor.Name)));
            }

            outputs[i] = tensor;
        }

        return outputs;
    }

    /// <summary>How a failure counts in the statistics.</summary>
    public static FailureReason ReasonOf(Exception e) => e switch
    {
        OperationCanceledException => FailureReason.Canceled,
        ProntoException { Code: ErrorCode.Unavailable } => FailureReason.Rejected,
        ProntoException { Code: ErrorCode.Internal } => FailureReason.Backend,
        ProntoException => FailureReason.Other,
        _ => FailureReason.Backend,
    };

    /// <summary>The produced output when the model declares one (an embedding, probabilities), else every raw output.</summary>
    public static IReadOnlyList<RequestedOutput> DefaultOutputs(ServedModel model)
    {
        if (model.Processing.Producer is { } producer)
        {
            return [new RequestedOutput(producer.OutputName)];
        }

        return [.. model.Config.Outputs.Select(o => new RequestedOutput(o.Name))];
    }

    /// <summary>The output names a request may ask for: the model's, plus the produced one.</summary>
    public static IEnumerable<string> OutputNames(ServedModel model)
    {
        var names = model.Config.Outputs.Select(o => o.Name);
        return model.Processing.Producer is { } p && !names.Contains(p.OutputName) ? names.Append(p.OutputName) : names;
    }

    private static NamedTensor? FindByName(IReadOnlyList<NamedTensor> inputs, string name)
    {
        foreach (var input in inputs)
        {
            if (input.Name == name)
            {
                return input;
            }
        }

        return null;
    }
}
