namespace Pronto.Batch.Input;

/// <summary>Streams one input file's rows; at most one buffer and one row group (Parquet) are in memory.</summary>
internal interface IRowReader : IAsyncDisposable
{
    /// <summary>The file's columns, known once <see cref="OpenAsync"/> returns.</summary>
    IReadOnlyList<Column> Columns { get; }

    /// <summary>Bytes of the file consumed so far (approximate: for progress only).</summary>
    long Position { get; }

    Task OpenAsync(CancellationToken cancellationToken);

    /// <summary>Values aligned with <see cref="Columns"/>, or an error text for a row that cannot be parsed.</summary>
    IAsyncEnumerable<(object?[]? Values, string? Error)> ReadAsync(CancellationToken cancellationToken);
}
