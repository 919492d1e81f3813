using Microsoft.Extensions.Hosting;

namespace Pronto.Server;

/// <summary>
/// Server-wide state handlers read: whether the start-up model load has finished, and the shutdown drain: the
/// requests inside the pipeline, and whether the host has been asked to stop (then readiness is false and new
/// requests get 503; <see cref="ShutdownDrain"/> waits for the rest).
/// </summary>
internal sealed class ServerState
{
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _active;
    private int _draining;

    public ServerState(IHostApplicationLifetime lifetime) =>
        lifetime.ApplicationStopping.Register(static state => ((ServerState)state!).BeginDrain(), this);

    /// <summary>The start-up load of the repository's models; set when the server starts.</summary>
    public Task Loading { get; set; } = Task.CompletedTask;

    public bool ModelsLoaded => Loading.IsCompleted;

    /// <summary>True from the moment the host is asked to stop (SIGTERM, StopApplication, StopAsync).</summary>
    public bool Draining => Volatile.Read(ref _draining) != 0;

    /// <summary>Requests inside the pipeline now (REST and gRPC).</summary>
    public int Active => Volatile.Read(ref _active);

    /// <summary>Completes once draining has begun and no request is inside the pipeline.</summary>
    public Task Idle => _idle.Task;

    public void Enter() => Interlocked.Increment(ref _active);

    public void Exit()
    {
        // Both sides write with a full fence, then read the other's field: one of them sees the other's write, so
        // the last request out and the start of the drain cannot both miss completing Idle.
        if (Interlocked.Decrement(ref _active) == 0 && Draining)
        {
            _idle.TrySetResult();
        }
    }

    public void BeginDrain()
    {
        Interlocked.Exchange(ref _draining, 1);
        if (Active == 0)
        {
            _idle.TrySetResult();
        }
    }
}
