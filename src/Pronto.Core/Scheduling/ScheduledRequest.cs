using Pronto.Core.Inference;

namespace Pronto.Core.Scheduling;

/// <summary>
/// One request in a <see cref="DynamicBatcher"/>: its validated inputs, where it stands (queued, running, done)
/// and the completion source its caller awaits. The state moves only by compare-exchange, so a cancellation
/// and the scheduler taking the request into a batch never both win.
/// </summary>
internal sealed class ScheduledRequest
{
    public const int Queued = 0;
    public const int Running = 1;
    public const int Done = 2;

    public int State;

    public required IReadOnlyList<NamedTensor> Inputs { get; init; }

    public required IReadOnlyList<string> OutputNames { get; init; }

    /// <summary>Rows: the request's own batch dimension.</summary>
    public required int Rows { get; init; }

    /// <summary>0-based level; 0 is Triton's priority 1 (highest).</summary>
    public required int Priority { get; init; }

    public required long EnqueuedAt { get; init; }

    /// <summary>TimeProvider timestamp after which the queue policy's timeout action applies; long.MaxValue: none.</summary>
    public required long TimeoutAt { get; init; }

    /// <summary>The timeout is the model's queue-wait budget (always refused at it), not the queue policy's.</summary>
    public bool BudgetTimeout { get; init; }

    public required long Sequence { get; init; }

    public required DynamicBatcher Owner { get; init; }

    /// <summary>Set once the timeout action DELAY moved it behind every other request.</summary>
    public bool Delayed;

    /// <summary>The batch it runs in, set before <see cref="State"/> becomes <see cref="Running"/>.</summary>
    public RunningBatch? Batch;

    public CancellationToken CancellationToken;

    public CancellationTokenRegistration Registration;

    public readonly TaskCompletionSource<BatchedRun> Completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsLive => Volatile.Read(ref State) == Queued;
}
