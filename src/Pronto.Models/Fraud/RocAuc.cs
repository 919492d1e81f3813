namespace Pronto.Models.Fraud;

/// <summary>Area under the ROC curve, computed exactly from ranks.</summary>
public static class RocAuc
{
    /// <summary>
    /// ROC AUC of <paramref name="scores"/> (higher = more likely positive) against
    /// <paramref name="labels"/>: the probability that a random positive scores above a random
    /// negative, ties counting one half. Uses the Mann-Whitney U statistic with tied scores given
    /// their average rank, so it is exact and O(n log n).
    /// </summary>
    /// <exception cref="ArgumentException">Lengths differ, or a class is missing (AUC is undefined).</exception>
    public static double Compute(IReadOnlyList<float> scores, IReadOnlyList<bool> labels)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(labels);
        if (scores.Count != labels.Count)
        {
            throw new ArgumentException($"{scores.Count} scores but {labels.Count} labels.", nameof(labels));
        }

        var n = scores.Count;
        var order = new int[n];
        for (var i = 0; i < n; i++)
        {
            if (float.IsNaN(scores[i]))
            {
                throw new ArgumentException($"Score {i} is NaN.", nameof(scores));
            }

            order[i] = i;
        }

        // Stable order is not needed: tied scores share one average rank below.
        Array.Sort(order, (a, b) => scores[a].CompareTo(scores[b]));

        double positiveRankSum = 0;
        long positives = 0;
        var start = 0;
        while (start < n)
        {
            var end = start;
            while (end + 1 < n && scores[order[end + 1]] == scores[order[start]])
            {
                end++;
            }

            // Ranks are 1-based; the tie group start..end shares the mean of ranks start+1..end+1.
            var averageRank = ((start + 1) + (end + 1)) / 2.0;
            for (var k = start; k <= end; k++)
            {
                if (labels[order[k]])
                {
                    positiveRankSum += averageRank;
                    positives++;
                }
            }

            start = end + 1;
        }

        var negatives = n - positives;
        if (positives == 0 || negatives == 0)
        {
            throw new ArgumentException("ROC AUC needs at least one positive and one negative label.", nameof(labels));
        }

        // Mann-Whitney U of the positives, normalised by the number of (positive, negative) pairs.
        var u = positiveRankSum - (positives * (positives + 1) / 2.0);
        return u / ((double)positives * negatives);
    }
}
