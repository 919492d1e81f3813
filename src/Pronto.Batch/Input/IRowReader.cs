namespace Pronto.Batch.Input;

/// <summary>Streams one input file as <see cref="ColumnGroup"/>s; at most a group (a Parquet row group, a block of lines) is in memory.</summary>
internal interface IRowReader : IAsyncDisposable
{
    /// <summary>The file's columns, known once <see cref="OpenAsync"/> returns.</summary>
    IReadOnlyList<Column> Columns { get; }

    /// <summary>Bytes of the file consumed so far (approximate: for progress only).</summary>
    long Position { get; }

    Task OpenAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The file's rows in groups numbered from 0 in the file, with the <paramref name="needed"/> columns read (the
    /// others null). A group none of whose rows <paramref name="wanted"/> (first row, row count) accepts may come
    /// without its values. The caller releases each group (<see cref="ColumnGroup.Release"/>).
    /// </summary>
    IAsyncEnumerable<ColumnGroup> ReadAsync(bool[] needed, Func<long, int, bool> wanted, CancellationToken cancellationToken);
}
