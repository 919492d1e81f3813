using System.Buffers;
using Parquet;
using Parquet.Schema;
using Pronto.Batch.Input;
using Pronto.Batch.Scoring;

namespace Pronto.Batch.Output;

/// <summary>
/// The columnar fast path: scored batches are copied at once into the row group being filled (so their input
/// row groups can go back to the pool), and each row group is written with the same Parquet.Net calls' bytes as
/// the row path's: a nullable column as its present values and definition levels (what WriteAsync of a
/// nullable array writes), the probability lists as values with repetition levels.
/// </summary>
internal sealed partial class ParquetPartWriter
{
    private GroupBuffers? _buffers;
    private int _columnRows;

    /// <summary>
    /// The columnar fast path's <see cref="WriteAsync(object?[], CancellationToken)"/>: the same row groups (a
    /// group ends where the row path's would: at rowGroupRows rows or MaxBufferedValues values), the same
    /// column bytes, so the file is the one the row path writes. The batch's arrays are not kept.
    /// </summary>
    public async ValueTask WriteColumnsAsync(ScoredColumns batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        // Every row holds one value per column plus its list's Per floats, as WriteAsync counts them.
        var perRow = (long)_columns.Count + batch.Per;
        var groupRows = (int)Math.Min(_rowGroupRows, (MaxBufferedValues + perRow - 1) / perRow);
        _buffers ??= new GroupBuffers(_columns, batch.Labels is not null, groupRows, batch.Per, ((DataField)((ListField)_fields[^1]).Item).MaxDefinitionLevel);
        var from = 0;
        while (from < batch.Count)
        {
            var take = Math.Min(batch.Count - from, groupRows - _columnRows);
            _buffers.Gather(batch, from, take, _columnRows);
            _columnRows += take;
            from += take;
            if (_columnRows >= groupRows)
            {
                await FlushAsync(cancellationToken);
            }
        }
    }

    /// <summary>
    /// Writes one row of <paramref name="columns"/> through the columnar path to memory and drops it, so the
    /// encoders (ours and Parquet.Net's, ~0.1 CPU-s of JIT and type loading) are compiled while the job's first
    /// row group is still being read, on the core that is idle then, not at the first real row group, which would
    /// stall the scorers behind the writer.
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

    private async ValueTask FlushColumnsAsync(CancellationToken ct)
    {
        using var group = _writer!.CreateRowGroup();
        var buffers = _buffers!;
        var n = _columnRows;
        for (var c = 0; c < buffers.Kept.Length; c++)
        {
            var field = (DataField)_fields[c];
            var kept = buffers.Kept[c];
            switch (kept.Values)
            {
                case long[] longs:
                    await group.WriteAllPartsAsync(field, (ReadOnlyMemory<long>)longs.AsMemory(0, kept.Present), kept.Levels.AsMemory(0, n), null, ct);
                    break;
                case double[] doubles:
                    await group.WriteAllPartsAsync(field, (ReadOnlyMemory<double>)doubles.AsMemory(0, kept.Present), kept.Levels.AsMemory(0, n), null, ct);
                    break;
                case bool[] bools:
                    await group.WriteAllPartsAsync(field, (ReadOnlyMemory<bool>)bools.AsMemory(0, kept.Present), kept.Levels.AsMemory(0, n), null, ct);
                    break;
                case string?[] strings:
                    await group.WriteAsync(field, (IReadOnlyCollection<string>)new ArraySegment<string?>(strings, 0, n));
                    break;
                case byte[]?[] bytes:
                    await group.WriteAsync(field, (IReadOnlyCollection<byte[]>)new ArraySegment<byte[]?>(bytes, 0, n));
                    break;
            }

            kept.Present = 0;
        }

        var next = buffers.Kept.Length;
        if (buffers.Labels is { } labels)
        {
            await group.WriteAsync((DataField)_fields[next], (IReadOnlyCollection<string>)new ArraySegment<string>(labels, 0, n));
            await group.WriteAsync((DataField)_fields[next + 1], (ReadOnlyMemory<float>)buffers.Probability!.AsMemory(0, n), null, null, ct);
            next += 2;
        }

        var item = (DataField)((ListField)_fields[next]).Item;
        var values = n * buffers.Per;
        await group.WriteAllPartsAsync(item, (ReadOnlyMemory<float>)buffers.Scores.AsMemory(0, values), definitionValues: buffers.ScoreLevels.AsMemory(0, values), repetitionLevels: buffers.ScoreRepetitions.AsMemory(0, values), cancellationToken: ct);
        _columnRows = 0;
    }

    /// <summary>
    /// The row group being filled, rented once per part: per kept column its present values (packed) and one
    /// definition level per row (1 present, 0 null) or its strings / byte arrays by row; then the labels, best
    /// probabilities and flat scores, with the scores' constant definition and repetition levels.
    /// </summary>
    private sealed class GroupBuffers
    {
        public GroupBuffers(IReadOnlyList<Column> columns, bool classify, int rows, int per, int defined)
        {
            Per = per;
            Kept = new KeptBuffer[columns.Count - (classify ? 3 : 1)];
            for (var c = 0; c < Kept.Length; c++)
            {
                Kept[c] = new KeptBuffer(columns[c].Kind, rows);
            }

            if (classify)
            {
                Labels = ArrayPool<string>.Shared.Rent(rows);
                Probability = ArrayPool<float>.Shared.Rent(rows);
            }

            Scores = ArrayPool<float>.Shared.Rent(rows * per);
            ScoreLevels = ArrayPool<int>.Shared.Rent(rows * per);
            ScoreRepetitions = ArrayPool<int>.Shared.Rent(rows * per);
            for (var i = 0; i < rows * per; i++)
            {
                // Every list value is defined (a row's list is never null or empty); repetition level 0 starts a
                // row's list, 1 continues it.
                ScoreLevels[i] = defined;
                ScoreRepetitions[i] = i % per == 0 ? 0 : 1;
            }
        }

        public KeptBuffer[] Kept { get; }

        public string[]? Labels { get; }

        public float[]? Probability { get; }

        public float[] Scores { get; }

        public int[] ScoreLevels { get; }

        public int[] ScoreRepetitions { get; }

        public int Per { get; }

        /// <summary>Copies good rows [from, from + count) of <paramref name="batch"/> to row <paramref name="at"/> of the group.</summary>
        public void Gather(ScoredColumns batch, int from, int count, int at)
        {
            for (var c = 0; c < Kept.Length; c++)
            {
                Kept[c].Gather(batch, batch.Kept[c]!, from, count, at);
            }

            if (Labels is not null)
            {
                Array.Copy(batch.Labels!, from, Labels, at, count);
                Array.Copy(batch.Probability!, from, Probability!, at, count);
            }

            Array.Copy(batch.Scores, from * Per, Scores, at * Per, count * Per);
        }

        public void Return()
        {
            foreach (var kept in Kept)
            {
                kept.Return();
            }

            if (Labels is not null)
            {
                ArrayPool<string>.Shared.Return(Labels, clearArray: true);
                ArrayPool<float>.Shared.Return(Probability!);
            }

            ArrayPool<float>.Shared.Return(Scores);
            ArrayPool<int>.Shared.Return(ScoreLevels);
            ArrayPool<int>.Shared.Return(ScoreRepetitions);
        }
    }

    private sealed class KeptBuffer
    {
        public KeptBuffer(ColumnKind kind, int rows)
        {
            Values = kind switch
            {
                ColumnKind.Int64 => ArrayPool<long>.Shared.Rent(rows),
                ColumnKind.Double => ArrayPool<double>.Shared.Rent(rows),
                ColumnKind.Bool => ArrayPool<bool>.Shared.Rent(rows),
                ColumnKind.String => ArrayPool<string?>.Shared.Rent(rows),
                _ => ArrayPool<byte[]?>.Shared.Rent(rows),
            };
            Levels = kind is ColumnKind.Int64 or ColumnKind.Double or ColumnKind.Bool ? ArrayPool<int>.Shared.Rent(rows) : [];
        }

        public Array Values { get; }

        public int[] Levels { get; }

        /// <summary>Values gathered into the row group so far (numbers and booleans: present ones only).</summary>
        public int Present { get; set; }

        public void Gather(ScoredColumns batch, ColumnData source, int from, int count, int at)
        {
            switch (Values)
            {
                case long[] longs:
                    Present = GatherPresent(batch, source, (long[])source.Values, longs, Levels, Present, from, count, at);
                    break;
                case double[] doubles:
                    Present = GatherPresent(batch, source, (double[])source.Values, doubles, Levels, Present, from, count, at);
                    break;
                case bool[] bools:
                    Present = GatherPresent(batch, source, (bool[])source.Values, bools, Levels, Present, from, count, at);
                    break;
                case string?[] strings:
                    GatherAll(batch, (string?[])source.Values, strings, from, count, at);
                    break;
                case byte[]?[] bytes:
                    GatherAll(batch, (byte[]?[])source.Values, bytes, from, count, at);
                    break;
            }
        }

        /// <summary>The present values packed after <paramref name="present"/>, a level per row; returns the new present count.</summary>
        private static int GatherPresent<T>(ScoredColumns batch, ColumnData column, T[] source, T[] values, int[] levels, int present, int from, int count, int at)
        {
            if (batch.Rows is null && column.Nulls is null)
            {
                // Every row of the chunk is good and none is null: one block.
                Array.Copy(source, batch.Chunk.Offset + from, values, present, count);
                levels.AsSpan(at, count).Fill(1);
                return present + count;
            }

            for (var i = 0; i < count; i++)
            {
                var row = batch.Row(from + i);
                if (column.Nulls is { } nulls && nulls[row])
                {
                    levels[at + i] = 0;
                    continue;
                }

                levels[at + i] = 1;
                values[present++] = source[row];
            }

            return present;
        }

        private static void GatherAll<T>(ScoredColumns batch, T[] source, T[] values, int from, int count, int at)
        {
            if (batch.Rows is null)
            {
                Array.Copy(source, batch.Chunk.Offset + from, values, at, count);
                return;
            }

            for (var i = 0; i < count; i++)
            {
                values[at + i] = source[batch.Row(from + i)];
            }
        }

        public void Return()
        {
            ColumnData.ReturnToPool(Values);
            if (Levels.Length > 0)
            {
                ArrayPool<int>.Shared.Return(Levels);
            }
        }
    }
}
