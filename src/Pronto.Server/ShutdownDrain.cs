using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Pronto.Server;

/// <summary>
/// The first step of the host's stop, before Kestrel closes its listeners: readiness turns false and new requests get
/// 503 (<see cref="ServerState.Draining"/>), then this waits until the requests in flight have finished or
/// <c>Pronto:ShutdownTimeout</c> (the host's ShutdownTimeout, whose token this gets) has passed. Only then does Kestrel
/// stop; the models are unloaded after that, each engine instance after its last lease (ModelLease).
/// </summary>
internal sealed partial class ShutdownDrain(ServerState state, ProntoServerOptions options, ILogger<ShutdownDrain> logger) : IHostedLifecycleService
{
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        state.BeginDrain();
        LogDraining(logger, state.Active, options.ShutdownTimeout);
        try
        {
            await state.Idle.WaitAsync(cancellationToken);
            LogDrained(logger);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            LogTimedOut(logger, state.Active);
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Shutting down: not ready, new requests get 503; waiting for {Active} in-flight requests (up to {Timeout})")]
    private static partial void LogDraining(ILogger logger, int active, TimeSpan timeout);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "Drained: no request in flight")]
    private static partial void LogDrained(ILogger logger);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "Shutdown timeout reached with {Active} requests in flight; their connections are closed")]
    private static partial void LogTimedOut(ILogger logger, int active);
}
