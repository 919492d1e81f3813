using Pronto.Batch.Input;
using Pronto.Batch.Scoring;

namespace Pronto.Batch.Output;

/// <summary>
/// A Parquet part: scored batches are copied at once into one <see cref="RowGroupBuffer"/> (so their input groups can
/// go back to the pool), written by <see cref="ParquetFileWriter"/> as a row group every rowGroupRows rows (fewer for
/// wide lists: a group holds at most <see cref="MaxBufferedValues"/> values), so memory stays bounded by a row group.
/// </summary>
internal sealed class ParquetPartWriter(Stream stream, IReadOnlyList<Column> columns, int rowGroupRows, ParquetSharp.Compression codec = ParquetSharp.Compression.Snappy) : IPartWriter
{
    // A row group also ends at this many buffered values (16 MB of floats): 65,536 rows of 384-float embeddings
    // would otherwise hold 100 MB.
    private const long MaxBufferedValues = 4 << 20;

    private readonly ParquetFileWriter _file = new(stream, columns, codec);
    private RowGroupBuffer? _buffer;
    private int _rows;

    public async ValueTask WriteAsync(ScoredColumns batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        _buffer ??= NewBuffer(batch.Per);
        var from = 0;
        while (from < batch.Count)
        {
            var take = Math.Min(batch.Count - from, _buffer.Capacity - _rows);
            _buffer.Gather(batch, from, take, _rows);
            _rows += take;
            from += take;
            if (_rows == _buffer.Capacity)
            {
                await FlushAsync(cancellationToken);
            }
        }
    }

    /// <summary>
    /// Writes one row of <paramref name="columns"/> to memory and drops it, so the
    /// encoder is compiled while the job's first row group is still being read, on the core that is idle then, not
    /// at the first real row group, which would stall the scorers behind the writer.
    /// </summary>
    public static async Task WarmUpAsync(IReadOnlyList<Column> columns, bool classify, CancellationToken cancellationToken)
    {
        var kept = new ColumnData?[columns.Count - (classify ? 3 : 1)];
        for (var c = 0; c < kept.Length; c++)
        {
            kept[c] = ColumnData.Rent(columns[c].Kind, 1, nullable: false);
        }

        var group = new ColumnGroup(0, 1, kept);
        var batch = new ScoredColumns(new ColumnChunk(group, 0, 1), kept, null, 1, classify ? ["warm-up"] : null, classify ? [0f] : null, [0f], 1);
        await using (var writer = new ParquetPartWriter(new MemoryStream(), columns, 1))
        {
            await writer.WriteAsync(batch, cancellationToken);
            await writer.CompleteAsync(cancellationToken);
        }

        group.Release();
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
