using Pronto.Batch.Input;

namespace Pronto.Batch.Scoring;

/// <summary>
/// A batch for an output file: its <see cref="Chunk"/> (whose group reference the writer releases once it has
/// copied the batch), the kept input columns and which of their rows were good, then the <c>predicted_*</c> values of
/// those rows: labels and best probabilities (classification only) and the flat scores, <see cref="Per"/> floats a
/// row (none for a plain table, <see cref="TableFile"/>).
/// </summary>
internal sealed class ScoredColumns(ColumnChunk chunk, ColumnData?[] kept, int[]? rows, int count, string[]? labels, float[]? probability, float[]? scores, int per)
{
    public ColumnChunk Chunk { get; } = chunk;

    public ColumnData?[] Kept { get; } = kept;

    /// <summary>The good rows' indexes in the kept columns; null when every row of the chunk is good.</summary>
    public int[]? Rows { get; } = rows;

    public int Count { get; } = count;

    public string[]? Labels { get; } = labels;

    public float[]? Probability { get; } = probability;

    public float[]? Scores { get; } = scores;

    public int Per { get; } = per;

    /// <summary>The index in the kept columns of good row <paramref name="i"/>.</summary>
    public int Row(int i) => Rows is { } rows ? rows[i] : Chunk.Offset + i;

    public static ScoredColumns Empty(ColumnChunk chunk, ColumnData?[] kept) => new(chunk, kept, [], 0, null, null, [], 0);
}
