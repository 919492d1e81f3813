namespace Pronto.Batch.Input;

/// <summary>
/// One Parquet row group of the columnar fast path: its first global row number, its row count, and per input
/// column a typed array (long?[], double?[], bool?[], string?[], byte[]?[]) or null for a column not read.
/// </summary>
internal sealed record ColumnGroup(long Start, int Rows, Array?[] Columns);

/// <summary>Rows [<see cref="Offset"/>, Offset + Count) of a <see cref="ColumnGroup"/>'s columns: one batch of one part.</summary>
internal sealed record ColumnChunk(Array?[] Columns, int Offset, int Count, long FirstRow);
