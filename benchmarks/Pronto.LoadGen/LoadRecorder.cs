using System.Diagnostics;

namespace Pronto.LoadGen;

/// <summary>
/// Sends the requests of one run and records each one's latency, error and correctness check; both loops use it.
/// Thread-safe: each request index is sent once, counters are interlocked.
/// </summary>
internal sealed class LoadRecorder(IInferenceTransport transport, ResponseCheck? check, int requests, CancellationToken cancellationToken)
{
    private readonly double[] _latenciesUs = new double[requests];
    private readonly bool[] _failed = new bool[requests];
    private int _errors;
    private int _checked;
    private int _mismatches;
    private string? _firstError;
    private string? _firstMismatch;

    /// <summary>
    /// Sends request <paramref name="index"/> and records its latency from <paramref name="startTimestamp"/>
    /// (a <see cref="Stopwatch"/> timestamp: the send itself, or in an open loop the scheduled send).
    /// </summary>
    public async Task SendAsync(int index, long startTimestamp)
    {
        var decode = check is not null && check.IsDue(index);
        var reply = await transport.SendAsync(decode, cancellationToken).ConfigureAwait(false);
        _latenciesUs[index] = Stopwatch.GetElapsedTime(startTimestamp).TotalMicroseconds;
        var error = reply.Error;
        if (error is null && decode)
        {
            Interlocked.Increment(ref _checked);
            var difference = check!.Compare(reply.Outputs!);
            if (difference is not null)
            {
                Interlocked.Increment(ref _mismatches);
                Interlocked.CompareExchange(ref _firstMismatch, difference, null);
                error = $"differs from the direct run: {difference}";
            }
        }

        if (error is not null)
        {
            _failed[index] = true;
            Interlocked.Increment(ref _errors);
            Interlocked.CompareExchange(ref _firstError, error, null);
        }
    }

    /// <summary>The result, once every request has completed.</summary>
    public LoadResult Finish(TimeSpan elapsed)
    {
        var ok = _latenciesUs.Where((_, i) => !_failed[i]).Order().ToArray();
        var failed = _latenciesUs.Where((_, i) => _failed[i]).Order().ToArray();
        Array.Sort(_latenciesUs);
        return new LoadResult(_latenciesUs.Length, _errors, elapsed.TotalSeconds, _latenciesUs, _firstError, _checked, _mismatches, _firstMismatch)
        {
            OkLatenciesUs = ok,
            ErrorLatenciesUs = failed,
        };
    }
}
