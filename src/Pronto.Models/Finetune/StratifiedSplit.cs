using System.Globalization;
using Pronto.Core.Errors;
using Pronto.Models.Fraud;

namespace Pronto.Models.Finetune;

/// <summary>
/// Per-class held-out split: each class's examples are shuffled with a seeded SplitMix64 and the first
/// round(n * fraction) of them are held out, so every class is measured and the split depends only on the seed.
/// </summary>
internal static class StratifiedSplit
{
    /// <summary>Example indices of the training and held-out sets, each in ascending order.</summary>
    public static (int[] Train, int[] Test) Split(IReadOnlyList<int> classOf, IReadOnlyList<string> labels, double fraction, ulong seed)
    {
        var random = new SplitMix64(seed);
        var train = new List<int>();
        var test = new List<int>();
        for (var c = 0; c < labels.Count; c++)
        {
            var members = new List<int>();
            for (var i = 0; i < classOf.Count; i++)
            {
                if (classOf[i] == c)
                {
                    members.Add(i);
                }
            }

            // Fisher-Yates with the fixed generator: the same seed gives the same split on every .NET version.
            for (var i = members.Count - 1; i > 0; i--)
            {
                var j = random.NextInt(0, i + 1);
                (members[i], members[j]) = (members[j], members[i]);
            }

            var held = (int)Math.Round(members.Count * fraction, MidpointRounding.AwayFromZero);
            if (held < 2)
            {
                ProntoErrors.InvalidArgument(string.Create(CultureInfo.InvariantCulture, $"class '{labels[c]}' has {held} example(s) in the held-out split of {members.Count} (at least 2 are needed to measure it): add examples of '{labels[c]}' or choose a larger --test-fraction (now {fraction:0.###})"));
            }

            if (members.Count - held < 1)
            {
                ProntoErrors.InvalidArgument(string.Create(CultureInfo.InvariantCulture, $"class '{labels[c]}' keeps no training example of {members.Count} after holding out {held}: choose a smaller --test-fraction (now {fraction:0.###})"));
            }

            test.AddRange(members.Take(held));
            train.AddRange(members.Skip(held));
        }

        train.Sort();
        test.Sort();
        return ([.. train], [.. test]);
    }
}
