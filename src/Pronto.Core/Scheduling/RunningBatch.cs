namespace Pronto.Core.Scheduling;

/// <summary>
/// One engine execution's callers. Its token fires when every caller in it has cancelled, which terminates
/// the run (ONNX Runtime's RunOptions.Terminate); a run someone still waits for is never stopped.
/// </summary>
internal sealed class RunningBatch(int callers) : IDisposable
{
    private readonly CancellationTokenSource _allGone = new();
    private int _live = callers;

    public CancellationToken Token => _allGone.Token;

    public void CallerCanceled()
    {
        if (Interlocked.Decrement(ref _live) == 0)
        {
            try
            {
                _allGone.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The run already finished.
            }
        }
    }

    /// <summary>A request that left the queue before joining: it never counts as a caller.</summary>
    public void Forget() => Interlocked.Decrement(ref _live);

    public void Dispose() => _allGone.Dispose();
}
