namespace Pronto.Batch.Scoring;

/// <summary>
/// The columnar fast path's scored batch: the kept input columns (typed arrays shared with the row group) and
/// the indexes of the good rows in them, then the <c>predicted_*</c> values of those rows: labels and best
/// probabilities (classification only) and the flat scores, <see cref="Per"/> floats a row.
/// </summary>
internal sealed class ScoredColumns(Array?[] kept, int[] rows, string[]? labels, float[]? probability, float[] scores, int per)
{
    public Array?[] Kept { get; } = kept;

    public int[] Rows { get; } = rows;

    public string[]? Labels { get; } = labels;

    public float[]? Probability { get; } = probability;

    public float[] Scores { get; } = scores;

    public int Per { get; } = per;

    public int Count => Rows.Length;

    public static ScoredColumns Empty(Array?[] kept) => new(kept, [], null, null, [], 0);
}
