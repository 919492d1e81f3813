using System.Buffers;
using Pronto.Batch.Input;
using Pronto.Batch.Scoring;

namespace Pronto.Batch.Output;

/// <summary>
/// The row group a <see cref="ParquetPartWriter"/> is filling, rented once per part: one <see cref="ColumnBuffer"/>
/// per output column, <see cref="Capacity"/> rows, gathered from the good rows of scored batches.
/// <see cref="ParquetFileWriter"/> encodes it.
/// </summary>
internal sealed class RowGroupBuffer
{
    public RowGroupBuffer(IReadOnlyList<Column> columns, int capacity, int per)
    {
        Capacity = capacity;
        Columns = [.. columns.Select(c => new ColumnBuffer(c.Kind, capacity, per))];
    }

    public int Capacity { get; }

    public ColumnBuffer[] Columns { get; }

    /// <summary>
    /// Copies good rows [from, from + count) of <paramref name="batch"/> to row <paramref name="at"/>: its kept
    /// columns, then the labels and best probabilities (classification only) and the flat scores.
    /// </summary>
    public void Gather(ScoredColumns batch, int from, int count, int at)
    {
        for (var c = 0; c < batch.Kept.Length; c++)
        {
            Columns[c].Gather(batch, batch.Kept[c]!, from, count, at);
        }

        if (batch.Labels is not null)
        {
            var k = batch.Kept.Length;
            Array.Copy(batch.Labels, from, Columns[k].Values, at, count);
            Array.Copy(batch.Probability!, from, Columns[k + 1].Values, at, count);
        }

        if (batch.Scores is { } scores)
        {
            Array.Copy(scores, from * batch.Per, Columns[^1].Values, at * batch.Per, count * batch.Per);
        }
    }

    /// <summary>Empties the buffer for the next row group (strings and byte arrays are overwritten row by row).</summary>
    public void Clear()
    {
        foreach (var column in Columns)
        {
            column.Present = 0;
        }
    }

    public void Return()
    {
        foreach (var column in Columns)
        {
            column.Return();
        }
    }
}

/// <summary>
/// One output column of a row group: numbers and booleans as their present values packed at the front of
/// <see cref="Values"/> plus a definition level per row in <see cref="Levels"/> (1 present, 0 null); strings and
/// byte arrays by row (null references for nulls); <c>predicted_probability</c> floats by row; a list column's
/// values flat, <see cref="Per"/> a row.
/// </summary>
internal sealed class ColumnBuffer
{
    public ColumnBuffer(ColumnKind kind, int rows, int per)
    {
        if (kind == ColumnKind.FloatList && per < 1)
        {
            // The encoder writes one repetition level per value; an empty list would need one per row.
            throw new InvalidDataException("a list column needs at least one value a row");
        }

        Kind = kind;
        Per = per;
        Values = kind switch
        {
            ColumnKind.Int64 => ArrayPool<long>.Shared.Rent(rows),
            ColumnKind.Double => ArrayPool<double>.Shared.Rent(rows),
            ColumnKind.Bool => ArrayPool<bool>.Shared.Rent(rows),
            ColumnKind.String => ArrayPool<string?>.Shared.Rent(rows),
            ColumnKind.Binary => ArrayPool<byte[]?>.Shared.Rent(rows),
            ColumnKind.Float => ArrayPool<float>.Shared.Rent(rows),
            _ => ArrayPool<float>.Shared.Rent(Math.Max(1, rows * per)),
        };
        Levels = kind is ColumnKind.Int64 or ColumnKind.Double or ColumnKind.Bool ? ArrayPool<short>.Shared.Rent(rows) : [];
    }

    public ColumnKind Kind { get; }

    public Array Values { get; }

    public short[] Levels { get; }

    /// <summary>Values gathered into the row group so far (numbers and booleans: present ones only).</summary>
    public int Present { get; set; }

    public int Per { get; }

    /// <summary>Good rows [from, from + count) of a kept column to row <paramref name="at"/>.</summary>
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
            case float[] floats:
                GatherAll(batch, (float[])source.Values, floats, from, count, at);
                break;
        }
    }

    /// <summary>The present values packed after <paramref name="present"/>, a level per row; returns the new present count.</summary>
    private static int GatherPresent<T>(ScoredColumns batch, ColumnData column, T[] source, T[] values, short[] levels, int present, int from, int count, int at)
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
            ArrayPool<short>.Shared.Return(Levels);
        }
    }
}
