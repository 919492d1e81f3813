using System.Globalization;
using Pronto.Core.Errors;

namespace Pronto.Batch;

/// <summary>
/// <c>--shard i/N</c> (i from 0): this worker owns the parts whose index p has p mod N == i. Parts are fixed
/// blocks of global row numbers, so N workers with the same part size cover the input exactly once with no
/// coordinator.
/// </summary>
public readonly record struct Shard(int Index, int Count)
{
    public static Shard Whole { get; } = new(0, 1);

    public bool Owns(long part) => part % Count == Index;

    /// <summary>The suffix of this shard's own files in a shared output folder ("" for the whole input).</summary>
    public string Suffix => Count == 1 ? "" : $"-{Index}-of-{Count}";

    public static Shard Parse(string text)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0
            && int.TryParse(text.AsSpan(0, slash), NumberStyles.None, CultureInfo.InvariantCulture, out var i)
            && int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            && n >= 1 && i < n)
        {
            return new Shard(i, n);
        }

        return ProntoErrors.InvalidArgument<Shard>($"--shard must be i/N with 0 <= i < N (e.g. 2/8), got '{text}'");
    }

    public override string ToString() => $"{Index}/{Count}";
}
