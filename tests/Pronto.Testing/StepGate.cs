namespace Pronto.Testing;

/// <summary>A generation engine's BeforeStep hook whose first call waits until <see cref="Open"/>, so requests queued meanwhile join one batch.</summary>
public sealed class StepGate
{
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _calls;

    public Task Reached => _reached.Task;

    public Action<int>? OnStep { get; init; }

    public async ValueTask Hook(CancellationToken token)
    {
        var call = Interlocked.Increment(ref _calls);
        OnStep?.Invoke(call);
        if (call == 1)
        {
            _reached.SetResult();
            await _open.Task.WaitAsync(token);
        }
    }

    public void Open() => _open.SetResult();
}
