namespace Pronto.Core.Generation;

/// <summary>
/// Picks the next token from one row of logits: greedy at temperature 0, else softmax(logits / temperature) cut to
/// the top k and then to the top-p nucleus, drawn with the sequence's own random stream (SplitMix64, so a seed gives
/// the same draws on every platform and .NET version, unlike <see cref="Random"/>'s unspecified algorithm).
/// </summary>
internal sealed class Sampler
{
    // 2^-53: turns the top 53 bits of a 64-bit draw into a double in [0, 1) exactly.
    private const double UnitScale = 1.0 / (1UL << 53);

    private readonly SamplingParameters _parameters;
    private ulong _state;
    private int[] _order = [];
    private double[] _probabilities = [];

    public Sampler(SamplingParameters parameters)
    {
        _parameters = parameters;
        _state = parameters.Seed ?? (ulong)Random.Shared.NextInt64();
    }

    public int Next(ReadOnlySpan<float> logits)
    {
        if (_parameters.Temperature == 0f)
        {
            return ArgMax(logits);
        }

        var count = logits.Length;
        if (_order.Length != count)
        {
            _order = new int[count];
            _probabilities = new double[count];
        }

        for (var i = 0; i < count; i++)
        {
            _order[i] = i;
        }

        // Most likely first; ids break ties so the order (and so a seeded draw) never depends on the sort.
        var order = _order;
        var row = logits.ToArray();
        Array.Sort(order, (a, b) => row[a] != row[b] ? row[b].CompareTo(row[a]) : a.CompareTo(b));
        var kept = _parameters.TopK > 0 ? Math.Min(_parameters.TopK, count) : count;
        var max = row[order[0]];
        double sum = 0;
        for (var i = 0; i < kept; i++)
        {
            var p = Math.Exp((row[order[i]] - max) / (double)_parameters.Temperature);
            _probabilities[i] = p;
            sum += p;
        }

        if (_parameters.TopP < 1f)
        {
            double cumulative = 0;
            for (var i = 0; i < kept; i++)
            {
                cumulative += _probabilities[i] / sum;
                if (cumulative >= _parameters.TopP)
                {
                    kept = i + 1;
                    break;
                }
            }

            sum = 0;
            for (var i = 0; i < kept; i++)
            {
                sum += _probabilities[i];
            }
        }

        var target = NextDouble() * sum;
        for (var i = 0; i < kept; i++)
        {
            target -= _probabilities[i];
            if (target < 0)
            {
                return order[i];
            }
        }

        return order[kept - 1];
    }

    internal static int ArgMax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }

        return best;
    }

    private double NextDouble()
    {
        // SplitMix64 (the reference constants: golden-ratio increment, mix13 finaliser).
        _state += 0x9E3779B97F4A7C15UL;
        var z = _state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * UnitScale;
    }
}
