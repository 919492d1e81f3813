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
