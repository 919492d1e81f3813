using Pronto.Batch.Input;
using Pronto.Batch.Scoring;

namespace Pronto.Batch.Output;

/// <summary>The columnar fast path: scored batches are copied at once into the row group being filled, so their input row groups can go back to the pool.</summary>
internal sealed partial class ParquetPartWriter
{
    /// <summary>
    /// The columnar fast path's <see cref="WriteAsync(object?[], CancellationToken)"/>: the same buffer and row
    /// groups, so the file is the one the row path writes. The batch's arrays are not kept.
    /// </summary>
    public async ValueTask WriteColumnsAsync(ScoredColumns batch, CancellationToken cancellationToken)
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
    /// Writes one row of <paramref name="columns"/> through the columnar path to memory and drops it, so the
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
            await writer.WriteColumnsAsync(batch, cancellationToken);
            await writer.CompleteAsync(cancellationToken);
        }

        group.Release();
    }
}
