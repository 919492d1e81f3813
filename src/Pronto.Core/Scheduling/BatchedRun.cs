using Pronto.Core.Inference;

namespace Pronto.Core.Scheduling;

/// <summary>
/// What a batched request gets back: its own rows of the engine outputs it asked for (in the order asked),
/// how long it waited in the queue and how many rows ran in its engine execution; <c>CpuNs</c> is its share (by rows) of
/// that execution's engine CPU time.
/// </summary>
/// <remarks>Ownership: the outputs are new tensors the caller owns (views of one array per batch output, never engine memory).</remarks>
public sealed record BatchedRun(IReadOnlyList<NamedTensor> Outputs, TimeSpan QueueTime, int BatchSize, long InputTicks, long InferTicks, long OutputTicks, long CpuNs);
