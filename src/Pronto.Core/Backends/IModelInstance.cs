using Pronto.Core.Inference;

namespace Pronto.Core.Backends;

/// <summary>
/// A loaded model in an engine. <see cref="Run"/> is thread-safe: concurrent runs are allowed.
/// </summary>
public interface IModelInstance : IDisposable
{
    /// <summary>
    /// One forward pass. Inputs have been validated against the model config by the caller.
    /// The outputs are new tensors the caller owns; they do not alias engine memory.
    /// Cancellation terminates a run in progress (ONNX Runtime's RunOptions.Terminate) and throws
    /// <see cref="OperationCanceledException"/>.
    /// </summary>
    IReadOnlyList<NamedTensor> Run(IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string> outputNames, CancellationToken cancellationToken);
}

/// <summary>
/// An instance whose backend timed building its engine session at load (ONNX Runtime's <c>InferenceSession</c>:
/// parsing and graph optimisation), apart from what follows it (warm-up runs): the cold-start split on /metrics.
/// </summary>
public interface ITimedLoad
{
    /// <summary>Wall time the backend spent creating the session, before any warm-up.</summary>
    TimeSpan SessionCreation { get; }
}

/// <summary>
/// An instance that can write a run's outputs into tensors the caller allocated, of the exact shapes the run produces
/// (ONNX Runtime's pre-allocated outputs): no output is allocated by the engine and copied again. The generation
/// engine's decode steps use it for the logits and the KV cache, whose shapes it knows before the run.
/// </summary>
public interface IRunIntoOutputs
{
    /// <summary>One forward pass writing <paramref name="outputs"/> (fixed-size types) in place; see <see cref="IModelInstance.Run"/>.</summary>
    void RunInto(IReadOnlyList<NamedTensor> inputs, IReadOnlyList<NamedTensor> outputs, CancellationToken cancellationToken);
}
