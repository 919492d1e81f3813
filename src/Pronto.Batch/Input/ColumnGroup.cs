namespace Pronto.Batch.Input;

/// <summary>
/// A run of input rows as columns (a Parquet row group, a block of CSV or JSONL lines): its first row number, its row
/// count, per input column its <see cref="ColumnData"/> (null for a column not read), and per row the reader's error
/// for a row it could not parse (<see cref="Errors"/>, null when every row parsed; such a row's values are null).
/// The column arrays are pooled: every holder
/// of the group (the reader while it cuts batches, each batch until the writer has copied it) keeps one
/// reference, and the last <see cref="Release"/> returns the arrays. A group dropped on a failure is simply
/// collected with its arrays.
/// </summary>
internal sealed class ColumnGroup(long start, int rows, ColumnData?[] columns, string?[]? errors = null)
{
    private int _references = 1;

    public long Start { get; } = start;

    public int Rows { get; } = rows;

    public ColumnData?[] Columns { get; } = columns;

    public string?[]? Errors { get; } = errors;

    public void Retain() => Interlocked.Increment(ref _references);

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) != 0)
        {
            return;
        }

        foreach (var column in Columns)
        {
            column?.Return();
        }
    }
}

/// <summary>
/// Rows [<see cref="Offset"/>, Offset + Count) of a <see cref="ColumnGroup"/>'s columns: one batch of one part.
/// The batch holds one reference to <see cref="Group"/>, released once the writer has copied what it keeps.
/// </summary>
internal sealed record ColumnChunk(ColumnGroup Group, int Offset, int Count)
{
    public ColumnData?[] Columns => Group.Columns;

    public long FirstRow => Group.Start + Offset;

    /// <summary>The reader's error for row <paramref name="row"/> of the chunk's columns (not of the chunk), or null.</summary>
    public string? ErrorOf(int row) => Group.Errors?[row];
}
