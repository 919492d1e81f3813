namespace Pronto.Models.Fraud;

/// <summary>
/// SplitMix64 pseudo-random generator (Steele, Lea and Flood, 2014). Used instead of
/// <see cref="Random"/> because its algorithm is fixed here forever, so a seed always
/// produces the same data set on every .NET version.
/// </summary>
internal sealed class SplitMix64(ulong seed)
{
    // 2^-53: turns the top 53 bits of a 64-bit draw into a double in [0, 1) exactly.
    private const double UnitScale = 1.0 / (1UL << 53);

    private ulong _state = seed;

    public ulong NextUInt64()
    {
        // Constants from the reference implementation (golden-ratio increment and the mix13 finaliser).
        _state += 0x9E3779B97F4A7C15UL;
        var z = _state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform double in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * UnitScale;

    /// <summary>Uniform float in [-1, 1), on a grid of 2^-23 (the top 24 bits of a draw).</summary>
    public float NextSignedSingle() => (((NextUInt64() >> 40) / (float)(1UL << 24)) - 0.5f) * 2f;

    /// <summary>Uniform integer in [minInclusive, maxExclusive).</summary>
    public int NextInt(int minInclusive, int maxExclusive) =>
        minInclusive + (int)(NextDouble() * (maxExclusive - minInclusive));

    /// <summary>True with the given probability.</summary>
    public bool Chance(double probability) => NextDouble() < probability;

    /// <summary>
    /// Approximately standard normal draw: the Irwin-Hall sum of 12 uniforms minus 6
    /// (mean 0, variance 1, tails cut at +-6). Pure arithmetic, unlike Box-Muller, so it
    /// does not depend on the platform's log/cos implementations.
    /// </summary>
    public double NextGaussian()
    {
        var sum = 0.0;
        for (var i = 0; i < 12; i++)
        {
            sum += NextDouble();
        }

        return sum - 6.0;
    }

    /// <summary>Log-normal draw: exp(mu + sigma * N(0, 1)).</summary>
    public double NextLogNormal(double mu, double sigma) => Math.Exp(mu + (sigma * NextGaussian()));

    /// <summary>Poisson draw by Knuth's multiplication method (fine for the small means used here).</summary>
    public int NextPoisson(double mean)
    {
        var limit = Math.Exp(-mean);
        var product = NextDouble();
        var count = 0;
        while (product > limit)
        {
            count++;
            product *= NextDouble();
        }

        return count;
    }

    /// <summary>Index drawn with probability proportional to <paramref name="weights"/>.</summary>
    public int NextWeighted(ReadOnlySpan<double> weights)
    {
        var total = 0.0;
        foreach (var w in weights)
        {
            total += w;
        }

        var target = NextDouble() * total;
        for (var i = 0; i < weights.Length; i++)
        {
            target -= weights[i];
            if (target < 0)
            {
                return i;
            }
        }

        return weights.Length - 1;
    }
}
