namespace Pronto.Core.Inference;

/// <summary>The result of one inference: the outputs asked for, in the order asked.</summary>
public sealed class InferenceResponse
{
    public required string ModelName { get; init; }

    public required string ModelVersion { get; init; }

    public string? Id { get; init; }

    public required IReadOnlyList<NamedTensor> Outputs { get; init; }

    public IReadOnlyDictionary<string, object> Parameters { get; init; } = InferenceRequest.EmptyParameters;

    /// <summary>
    /// The engine CPU time this request cost (<see cref="CpuClock"/>: the run's calling thread; a batched request's share
    /// by rows of its execution); zero for a response-cache hit. Not sent on the wire; the statistics add it up.
    /// </summary>
    public TimeSpan EngineCpuTime { get; init; }

    /// <summary>How long the request waited in the dynamic batcher's queue; null when it did not go through one.</summary>
    public TimeSpan? QueueTime { get; init; }

    /// <summary>Rows of the engine execution the request ran in; null when it did not go through the batcher.</summary>
    public int? BatchSize { get; init; }

    /// <summary>True when the response came from the response cache (the model did not run).</summary>
    public bool FromCache { get; init; }
}
