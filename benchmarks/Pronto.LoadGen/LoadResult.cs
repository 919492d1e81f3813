namespace Pronto.LoadGen;

/// <summary>Latencies of one run, in microseconds, and what they add up to.</summary>
public sealed record LoadResult(int Requests, int Errors, double Seconds, double[] LatenciesUs)
{
    public double Throughput => Requests / Seconds;

    public double Percentile(double p)
    {
        if (LatenciesUs.Length == 0)
        {
            return double.NaN;
        }

        // Nearest-rank on the sorted latencies.
        var rank = (int)Math.Ceiling(p / 100.0 * LatenciesUs.Length);
        return LatenciesUs[Math.Clamp(rank - 1, 0, LatenciesUs.Length - 1)];
    }
}
