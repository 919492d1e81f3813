namespace Pronto.Core.Generation;

/// <summary>
/// Picks the next token from one row of logits, in vLLM's order: the logits are adjusted first (min_tokens masks the
/// end ids; repetition_penalty over prompt + output, then frequency and presence penalties over the output), then
/// greedy at temperature 0, else softmax(logits / temperature) cut to the top k, to min_p of the most likely
/// token's probability and then to the top-p nucleus, drawn with the sequence's own random stream (SplitMix64, so a
/// seed gives the same draws on every platform and .NET version, unlike <see cref="Random"/>'s unspecified algorithm).
/// The sampler records each token it returns: it is one sequence's.
/// </summary>
internal sealed class Sampler
{
    // 2^-53: turns the top 53 bits of a 64-bit draw into a double in [0, 1) exactly.
    private const double UnitScale = 1.0 / (1UL << 53);

    private readonly SamplingParameters _parameters;
    private readonly int[] _endIds;
    private readonly HashSet<int>? _seen;
    private readonly Dictionary<int, int>? _generatedCounts;
    private ulong _state;
    private int _generated;
    private int[] _order = [];
    private double[] _probabilities = [];
    private float[] _row = [];

    /// <param name="parameters">The sequence's parameters.</param>
    /// <param name="prompt">Its prompt's token ids (repetition_penalty counts them as seen).</param>
    /// <param name="endIds">The ids that end it (the model's end-of-sequence ids unless ignore_eos, and stop_token_ids): masked while min_tokens is not reached.</param>
    public Sampler(SamplingParameters parameters, ReadOnlySpan<int> prompt = default, IEnumerable<int>? endIds = null)
    {
        _parameters = parameters;
        _state = parameters.Seed ?? (ulong)Random.Shared.NextInt64();
        _endIds = parameters.MinTokens > 0 && endIds is not null ? [.. endIds.Distinct()] : [];
        if (parameters.RepetitionPenalty != 1f)
        {
            _seen = [.. prompt];
        }

        if (parameters.PresencePenalty != 0f || parameters.FrequencyPenalty != 0f)
        {
            _generatedCounts = [];
        }
    }

    /// <summary>The log-probabilities of the token <see cref="Next"/> returned last, when the parameters ask for them.</summary>
    public TokenLogprobs? LastLogprobs { get; private set; }

    public int Next(ReadOnlySpan<float> logits)
    {
        var row = Adjust(logits);
        var token = _parameters.Temperature == 0f ? ArgMax(row) : Draw(row);
        if (_parameters.Logprobs is { } top)
        {
            LastLogprobs = Logprobs(logits, token, top);
        }

        _generated++;
        _seen?.Add(token);
        if (_generatedCounts is not null)
        {
            _generatedCounts[token] = _generatedCounts.GetValueOrDefault(token) + 1;
        }

        return token;
    }

    /// <summary>The logits with min_tokens' mask and the penalties applied: a copy when anything changes, else the row itself.</summary>
    internal ReadOnlySpan<float> Adjust(ReadOnlySpan<float> logits)
    {
        var masking = _generated < _parameters.MinTokens && _endIds.Length > 0;
        if (!masking && _seen is null && _generatedCounts is null)
        {
            return logits;
        }

        if (_row.Length != logits.Length)
        {
            _row = new float[logits.Length];
        }

        var row = _row;
        logits.CopyTo(row);
        if (_seen is not null)
        {
            var penalty = _parameters.RepetitionPenalty;
            foreach (var id in _seen)
            {
                if ((uint)id < (uint)row.Length)
                {
                    row[id] = row[id] > 0 ? row[id] / penalty : row[id] * penalty;
                }
            }
        }

        if (_generatedCounts is not null)
        {
            foreach (var (id, times) in _generatedCounts)
            {
                row[id] -= (_parameters.FrequencyPenalty * times) + _parameters.PresencePenalty;
            }
        }

        if (masking)
        {
            foreach (var id in _endIds)
            {
                if ((uint)id < (uint)row.Length)
                {
                    row[id] = float.NegativeInfinity;
                }
            }
        }

        return row;
    }

    private int Draw(ReadOnlySpan<float> logits)
    {
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
            // exp((l - max) / T) is also the token's probability relative to the most likely one, which min_p reads;
            // 0 is a masked token (min_tokens), never drawn.
            var p = Math.Exp((row[order[i]] - max) / (double)_parameters.Temperature);
            if (p < _parameters.MinP || p == 0)
            {
                kept = i;
                break;
            }

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

    /// <summary>log-softmax of the raw <paramref name="logits"/> at <paramref name="token"/> and the <paramref name="top"/> largest, most likely first.</summary>
    internal static TokenLogprobs Logprobs(ReadOnlySpan<float> logits, int token, int top)
    {
        var logSum = LogitMath.LogSumExp(logits);
        var best = new TokenLogprob[Math.Min(top, logits.Length)];
        var count = 0;
        var above = 0;
        for (var i = 0; i < logits.Length; i++)
        {
            above += logits[i] > logits[token] ? 1 : 0;
            if (best.Length == 0)
            {
                continue;
            }

            // Insertion into the small sorted list; a later id never displaces an equal earlier one.
            if (count == best.Length && logits[i] <= logits[best[count - 1].TokenId])
            {
                continue;
            }

            var at = Math.Min(count, best.Length - 1);
            while (at > 0 && logits[best[at - 1].TokenId] < logits[i])
            {
                best[at] = best[at - 1];
                at--;
            }

            best[at] = new TokenLogprob(i, 0);
            count = Math.Min(count + 1, best.Length);
        }

        for (var k = 0; k < best.Length; k++)
        {
            best[k] = best[k] with { Logprob = (float)(logits[best[k].TokenId] - logSum) };
        }

        return new TokenLogprobs((float)(logits[token] - logSum), best) { Rank = above + 1 };
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
