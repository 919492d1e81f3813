namespace Pronto.Batch.Output;

/// <summary>
/// A Parquet part: rows (the row path) or scored batches (the columnar path, <see cref="WriteColumnsAsync"/>) are
/// copied into one <see cref="RowGroupBuffer"/>, written by <see cref="ParquetFileWriter"/> as a row group every
/// rowGroupRows rows (fewer for wide lists: a group holds at most <see cref="MaxBufferedValues"/> values), so
/// memory stays bounded by a row group and both paths write the same bytes.
/// </summary>
internal sealed partial class ParquetPartWriter(Stream stream, IReadOnlyList<Column> columns, int rowGroupRows, ParquetSharp.Compression codec = ParquetSharp.Compression.Snappy) : IPartWriter
{
    // A row group also ends at this many buffered values (16 MB of floats): 65,536 rows of 384-float embeddings
    // would otherwise hold 100 MB.
    private const long MaxBufferedValues = 4 << 20;

    private readonly ParquetFileWriter _file = new(stream, columns, codec);
    private RowGroupBuffer? _buffer;
    private int _rows;

    public async ValueTask WriteAsync(object?[] row, CancellationToken cancellationToken)
    {
        _buffer ??= NewBuffer(row.Length > 0 && columns[^1].Kind == ColumnKind.FloatList && row[^1] is float[] list ? list.Length : 0);
        _buffer.Add(row, _rows++);
        if (_rows == _buffer.Capacity)
        {
            await FlushAsync(cancellationToken);
        }
    }

    /// <summary>The buffer of one row group: rowGroupRows rows, or fewer when each row holds a list of <paramref name="per"/> floats.</summary>
    private RowGroupBuffer NewBuffer(int per)
    {
        var perRow = (long)columns.Count + per;
        return new RowGroupBuffer(columns, (int)Math.Min(rowGroupRows, (MaxBufferedValues + perRow - 1) / perRow), per);
    }

    private async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_rows == 0)
        {
            return;
        }

        await _file.WriteRowGroupAsync(_buffer!, _rows, cancellationToken);
        _buffer!.Clear();
        _rows = 0;
    }

    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken);
        await _file.CompleteAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        _file.Dispose();
        _buffer?.Return();
        _buffer = null;
        await stream.DisposeAsync();
    }
}
