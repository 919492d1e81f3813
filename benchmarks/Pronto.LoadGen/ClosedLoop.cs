using System.Diagnostics;

namespace Pronto.LoadGen;

/// <summary>
/// Closed loop: <c>concurrency</c> workers each send the next request as soon as their previous answer arrives,
/// so the server is never offered more than <c>concurrency</c> requests at once. Latency is counted from each send.
/// </summary>
public static class ClosedLoop
{
    /// <summary>Sends <paramref name="requests"/> requests from <paramref name="concurrency"/> workers.</summary>
    /// <param name="check">Compares a sample of the responses with a direct run; null for none.</param>
    public static async Task<LoadResult> RunAsync(
        IInferenceTransport transport, int requests, int concurrency, ResponseCheck? check = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentOutOfRangeException.ThrowIfLessThan(requests, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        var recorder = new LoadRecorder(transport, check, requests, cancellationToken);
        var next = -1;
        var start = Stopwatch.GetTimestamp();
        var workers = new Task[concurrency];
        for (var w = 0; w < concurrency; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                int index;
                while ((index = Interlocked.Increment(ref next)) < requests)
                {
                    await recorder.SendAsync(index, Stopwatch.GetTimestamp()).ConfigureAwait(false);
                }
            }, cancellationToken);
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
        return recorder.Finish(Stopwatch.GetElapsedTime(start));
    }

    /// <summary>Sends <paramref name="requests"/> requests one after another, results not counted: JIT, connections, server caches.</summary>
    public static async Task WarmUpAsync(IInferenceTransport transport, int requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        for (var i = 0; i < requests; i++)
        {
            await transport.SendAsync(decode: false, cancellationToken).ConfigureAwait(false);
        }
    }
}
