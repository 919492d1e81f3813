namespace Pronto.Core.Generation;

/// <summary>
/// Turns one sequence's generated tokens into text pieces for streaming and finds its stop strings. The text is the
/// decoding of all tokens so far (a token can end inside a UTF-8 character, and byte-level BPE merges across tokens),
/// and only what can no longer change is released: nothing while the text ends in an incomplete character (U+FFFD),
/// and never a tail that could still grow into a stop string. A stop string cuts the text just before it.
/// </summary>
internal sealed class StopStringTracker(GenerativeTokenizer tokenizer, IReadOnlyList<string> stops)
{
    private readonly List<int> _tokens = [];
    private int _released;

    /// <summary>The text released so far.</summary>
    public string Text { get; private set; } = string.Empty;

    /// <summary>
    /// Adds a token; returns the text it releases (may be empty) and whether a stop string was reached, in which
    /// case the released text ends just before it and the sequence must stop. Not <paramref name="armed"/> (before
    /// min_tokens), no stop string is looked for and nothing is held back for one.
    /// </summary>
    public (string Released, bool Stopped) Add(int token, bool armed = true)
    {
        _tokens.Add(token);
        var decoded = tokenizer.Decode(_tokens);
        var stopAt = -1;
        foreach (var stop in armed ? stops : [])
        {
            // A stop string cannot start before text already released minus its own length.
            var from = Math.Max(0, _released - stop.Length + 1);
            var at = decoded.IndexOf(stop, from, StringComparison.Ordinal);
            if (at >= 0 && (stopAt < 0 || at < stopAt))
            {
                stopAt = at;
            }
        }

        if (stopAt >= 0)
        {
            return (Release(decoded, Math.Max(stopAt, _released)), true);
        }

        if (decoded.Length > 0 && decoded[^1] == '\uFFFD')
        {
            return (string.Empty, false);
        }

        var safe = decoded.Length - (armed ? HeldBack(decoded) : 0);
        return (safe > _released ? Release(decoded, safe) : string.Empty, false);
    }

    /// <summary>At the end of the sequence (length, end of sequence): whatever was held back.</summary>
    public string Flush()
    {
        var decoded = tokenizer.Decode(_tokens);
        return decoded.Length > _released ? Release(decoded, decoded.Length) : string.Empty;
    }

    private string Release(string decoded, int end)
    {
        var piece = decoded[_released..end];
        _released = end;
        Text = decoded[..end];
        return piece;
    }

    /// <summary>The longest tail of <paramref name="decoded"/> that is a proper prefix of a stop string.</summary>
    private int HeldBack(string decoded)
    {
        var held = 0;
        foreach (var stop in stops)
        {
            for (var length = Math.Min(stop.Length - 1, decoded.Length); length > held; length--)
            {
                if (decoded.AsSpan(decoded.Length - length).SequenceEqual(stop.AsSpan(0, length)))
                {
                    held = length;
                    break;
                }
            }
        }

        return Math.Min(held, decoded.Length - _released);
    }
}
