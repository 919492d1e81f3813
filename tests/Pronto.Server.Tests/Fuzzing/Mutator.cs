namespace Pronto.Server.Tests.Fuzzing;

/// <summary>
/// Seeded byte mutations of valid inputs, the operators of mutation fuzzers (AFL's havoc stage): bit flips, truncation,
/// duplicated and deleted spans, interesting bytes and numbers, dictionary tokens inserted or replacing a span, and
/// splices of two corpus entries. Deterministic for a given <see cref="Random"/> seed.
/// </summary>
internal static class Mutator
{
    private static readonly byte[] InterestingBytes = [0x00, 0xFF, (byte)'"', (byte)'[', (byte)'{', (byte)'\\', (byte)'-', (byte)'9', 0x80, 0xC0, 0x7F, (byte)'\n'];

    private static readonly byte[] BasicBytes = [0x00, 0xFF, (byte)'"', (byte)'['];

    private static readonly string[] InterestingNumbers =
    [
        "0", "-1", "1", "-0", "255", "65536", "2147483647", "2147483648", "-2147483649", "4294967295", "4294967296",
        "9223372036854775807", "9223372036854775808", "-9223372036854775809", "18446744073709551616",
        "1e39", "1e309", "-1e309", "1.5", "0.0000001", "00", "1e", "1e-400", "123456789012345678901234567890",
    ];

    /// <summary>
    /// One to three of: a bit flip, a truncation, a duplicated span, a byte overwritten with 0x00/0xFF/'"'/'['. The
    /// short CI fuzzing of whole requests (<see cref="HostileFuzzTests"/>).
    /// </summary>
    public static byte[] Basic(byte[] valid, Random random)
    {
        var body = (byte[])valid.Clone();
        for (var n = random.Next(1, 4); n > 0 && body.Length > 0; n--)
        {
            body = random.Next(4) switch
            {
                0 => FlipBit(body, random),
                1 => body[..random.Next(body.Length)],
                2 => Duplicate(body, random),
                _ => Overwrite(body, random, BasicBytes),
            };
        }

        return body;
    }

    /// <summary>One to four havoc operators on an entry of <paramref name="corpus"/>, with tokens from <paramref name="dictionary"/>.</summary>
    public static byte[] Havoc(IReadOnlyList<byte[]> corpus, IReadOnlyList<byte[]> dictionary, Random random)
    {
        var body = (byte[])corpus[random.Next(corpus.Count)].Clone();
        for (var n = random.Next(1, 5); n > 0; n--)
        {
            if (body.Length == 0)
            {
                body = [.. dictionary[random.Next(dictionary.Count)]];
                continue;
            }

            body = random.Next(9) switch
            {
                0 => FlipBit(body, random),
                1 => body[..random.Next(body.Length)],
                2 => Duplicate(body, random),
                3 => Overwrite(body, random, InterestingBytes),
                4 => Insert(body, random.Next(body.Length + 1), 0, dictionary[random.Next(dictionary.Count)]),
                5 => Insert(body, random.Next(body.Length), random.Next(1, Math.Min(8, body.Length) + 1), dictionary[random.Next(dictionary.Count)]),
                6 => Insert(body, random.Next(body.Length), random.Next(1, Math.Min(16, body.Length) + 1), []),
                7 => Splice(body, corpus[random.Next(corpus.Count)], random),
                _ => ReplaceNumber(body, random),
            };
        }

        return body;
    }

    private static byte[] FlipBit(byte[] body, Random random)
    {
        body[random.Next(body.Length)] ^= (byte)(1 << random.Next(8));
        return body;
    }

    private static byte[] Duplicate(byte[] body, Random random)
    {
        var start = random.Next(body.Length);
        var length = random.Next(1, Math.Min(16, body.Length - start) + 1);
        return [.. body[..(start + length)], .. body[start..]];
    }

    private static byte[] Overwrite(byte[] body, Random random, byte[] choices)
    {
        body[random.Next(body.Length)] = choices[random.Next(choices.Length)];
        return body;
    }

    /// <summary><paramref name="body"/> with <paramref name="remove"/> bytes at <paramref name="at"/> replaced by <paramref name="token"/>.</summary>
    private static byte[] Insert(byte[] body, int at, int remove, byte[] token) =>
        [.. body[..at], .. token, .. body[Math.Min(body.Length, at + remove)..]];

    private static byte[] Splice(byte[] body, byte[] other, Random random) =>
        other.Length == 0 ? body : [.. body[..random.Next(body.Length + 1)], .. other[random.Next(other.Length)..]];

    /// <summary>The run of digits at or after a random position replaced by an interesting number (or one is inserted).</summary>
    private static byte[] ReplaceNumber(byte[] body, Random random)
    {
        var start = random.Next(body.Length);
        while (start < body.Length && !char.IsAsciiDigit((char)body[start]))
        {
            start++;
        }

        var end = start;
        while (end < body.Length && char.IsAsciiDigit((char)body[end]))
        {
            end++;
        }

        var number = System.Text.Encoding.ASCII.GetBytes(InterestingNumbers[random.Next(InterestingNumbers.Length)]);
        return Insert(body, Math.Min(start, body.Length), end - start, number);
    }
}
