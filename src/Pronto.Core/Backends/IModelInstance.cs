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
