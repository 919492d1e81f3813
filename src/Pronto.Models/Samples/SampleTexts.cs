using Pronto.Models.Fraud;

namespace Pronto.Models.Samples;

/// <summary>
/// Short customer messages about cards and payments: sample input for <c>minilm</c> (<c>pronto sample minilm</c>).
/// Each text joins a subject, a problem and a detail drawn from <see cref="SplitMix64"/>, so a seed always gives the
/// same texts, on every platform (no floating point beyond the draws).
/// </summary>
public static class SampleTexts
{
    internal static readonly string[] Subjects =
    [
        "my card", "the refund", "this invoice", "the app", "my password", "the delivery", "a payment", "my account",
        "the transfer", "my subscription", "the merchant", "a withdrawal",
    ];

    internal static readonly string[] Problems =
    [
        "was charged twice", "has not arrived", "keeps failing", "looks wrong", "was declined", "needs an update",
        "is missing", "got blocked", "shows a charge I do not recognise", "was cancelled without notice",
        "takes too long", "was refunded only in part",
    ];

    internal static readonly string[] Details =
    [
        "since yesterday", "at the store", "after the update", "on my phone", "for the third time", "please help",
        "again today", "last week", "while I was abroad", "at an ATM", "in the online shop", "this morning",
    ];

    /// <summary>The first <paramref name="count"/> texts of the stream <paramref name="seed"/> names.</summary>
    public static IEnumerable<string> Generate(int count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var random = new SplitMix64(unchecked((ulong)seed));
        for (var i = 0; i < count; i++)
        {
            yield return $"{Subjects[random.NextInt(0, Subjects.Length)]} {Problems[random.NextInt(0, Problems.Length)]} {Details[random.NextInt(0, Details.Length)]}";
        }
    }
}
