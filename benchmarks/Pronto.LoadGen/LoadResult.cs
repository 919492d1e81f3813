namespace Pronto.LoadGen;

/// <summary>What one run adds up to. Latencies are in microseconds, sorted ascending, one per request.</summary>
/// <param name="Requests">Requests sent and answered, warm-up excluded.</param>
/// <param name="Errors">Failed requests (error status, transport failure) plus correctness mismatches.</param>
/// <param name="Seconds">From the first send (closed loop) or the first scheduled send (open loop) to the last answer.</param>
/// <param name="LatenciesUs">Per request: from its send, or in an open loop from its scheduled send, to its answer.</param>
/// <param name="FirstError">The first error's message, or null.</param>
/// <param name="Checked">Responses compared with the direct run.</param>
/// <param name="Mismatches">Checked responses that differed (each also counted in <paramref name="Errors"/>).</param>
/// <param name="FirstMismatch">The first difference found, or null.</param>
public sealed record LoadResult(
    int Requests,
    int Errors,
    double Seconds,
    double[] LatenciesUs,
    string? FirstError,
    int Checked,
    int Mismatches,
    string? FirstMismatch)
{
    /// <summary>Answered requests per second; in an open loop, the achieved rate.</summary>
    public double Throughput => Requests / Seconds;

    public double MaxUs => Percentile(100);

    /// <summary>The latencies of the requests that succeeded, sorted (overload: what admitted requests saw).</summary>
    public double[] OkLatenciesUs { get; init; } = [];

    /// <summary>The latencies of the failed requests, sorted (overload: how fast a refusal came).</summary>
    public double[] ErrorLatenciesUs { get; init; } = [];

    /// <summary>
    /// Open loop only: the 99th percentile of how late, in microseconds, requests left after their scheduled time
    /// (a generator that cannot keep up shows here); null for a closed loop.
    /// </summary>
    public double? SendLagP99Us { get; init; }

    /// <summary>The nearest-rank percentile <paramref name="p"/> (0-100] of the latencies; NaN when there are none.</summary>
    public double Percentile(double p) => NearestRank(LatenciesUs, p);

    /// <summary>The nearest-rank percentile: the smallest value with at least p % of <paramref name="sorted"/> at or below it.</summary>
    public static double NearestRank(double[] sorted, double p)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
