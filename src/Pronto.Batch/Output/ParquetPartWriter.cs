using System.Buffers;
using ParquetSharp;
using ParquetSharp.Schema;
using Pronto.Batch.Input;
using Pronto.Batch.Scoring;

namespace Pronto.Batch.Output;

/// <summary>
/// A Parquet part through ParquetSharp. Each scored batch goes straight from its columns into a buffered row group
/// (ParquetSharp encodes and compresses as it comes, so the batch's input group can go back to the pool), closed every
/// rowGroupRows rows (fewer for wide lists: a group holds at most <see cref="MaxGroupValues"/> values). Kept columns
/// are OPTIONAL (INT64, DOUBLE, FLOAT for a <see cref="Column.Single"/> column, BOOLEAN, BYTE_ARRAY as UTF8 string or
/// binary), <c>predicted_probability</c> is a REQUIRED FLOAT and the score and embedding lists are a 3-level LIST of
/// REQUIRED FLOAT. Dictionary encoding only for string columns (labels), no statistics, the codec given (Snappy by
/// default).
/// </summary>
internal sealed class ParquetPartWriter : IPartWriter
{
    // A row group also ends at this many values (16 MB of floats): 65,536 rows of 384-float embeddings would
    // otherwise make one group of 100 MB for a reader to hold.
    private const long MaxGroupValues = 4 << 20;

    private readonly Stream _stream;
    private readonly IReadOnlyList<Column> _columns;
    private readonly int _rowGroupRows;
    private readonly ParquetSharp.ParquetFileWriter _writer;
    private RowGroupWriter? _group;
    private int _capacity;
    private int _rows;

    public ParquetPartWriter(Stream stream, IReadOnlyList<Column> columns, int rowGroupRows, Compression codec = Compression.Snappy)
    {
        _stream = stream;
        _columns = columns;
        _rowGroupRows = rowGroupRows;
        using var schema = new GroupNode("schema", Repetition.Required, [.. columns.Select(NodeOf)]);
        using var builder = new WriterPropertiesBuilder();
        builder.Compression(codec).DisableStatistics().DisableDictionary().MemoryPool(ParquetMemory.Pool);
        foreach (var column in columns.Where(c => c.Kind == ColumnKind.String))
        {
            builder.EnableDictionary(column.Name);
        }

        using var properties = builder.Build();
        _writer = new ParquetSharp.ParquetFileWriter(stream, schema, properties, null, leaveOpen: true);
    }

    /// <summary>The codec of <see cref="BatchOptions.Codec"/>'s name.</summary>
    public static Compression CodecOf(string name) => name switch
    {
        "zstd" => Compression.Zstd,
        "none" => Compression.Uncompressed,
        _ => Compression.Snappy,
    };

    /// <summary>The 4 bytes a Parquet file starts and ends with.</summary>
    public static ReadOnlySpan<byte> Magic => "PAR1"u8;

    private static Node NodeOf(Column column) => column.Kind switch
    {
        ColumnKind.Int64 => new PrimitiveNode(column.Name, Repetition.Optional, LogicalType.None(), PhysicalType.Int64),
        ColumnKind.Double => new PrimitiveNode(column.Name, Repetition.Optional, LogicalType.None(), column.Single ? PhysicalType.Float : PhysicalType.Double),
        ColumnKind.Bool => new PrimitiveNode(column.Name, Repetition.Optional, LogicalType.None(), PhysicalType.Boolean),
        ColumnKind.String => new PrimitiveNode(column.Name, Repetition.Optional, LogicalType.String(), PhysicalType.ByteArray),
        ColumnKind.Binary => new PrimitiveNode(column.Name, Repetition.Optional, LogicalType.None(), PhysicalType.ByteArray),
        ColumnKind.Float => new PrimitiveNode(column.Name, Repetition.Required, LogicalType.None(), PhysicalType.Float),
        _ => new GroupNode(column.Name, Repetition.Optional,
            [new GroupNode("list", Repetition.Repeated, [new PrimitiveNode("element", Repetition.Required, LogicalType.None(), PhysicalType.Float)])],
            LogicalType.List()),
    };

    public ValueTask WriteAsync(ScoredColumns batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return ValueTask.CompletedTask;
        }

        if (_columns[^1].Kind == ColumnKind.FloatList && batch.Per < 1)
        {
            // The list is written with one repetition level per value; an empty list would need one per row.
            throw new InvalidDataException("a list column needs at least one value a row");
        }

        if (_capacity == 0)
        {
            var perRow = (long)_columns.Count + batch.Per;
            _capacity = (int)Math.Min(_rowGroupRows, (MaxGroupValues + perRow - 1) / perRow);
        }

        for (var from = 0; from < batch.Count;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _group ??= _writer.AppendBufferedRowGroup();
            var take = Math.Min(batch.Count - from, _capacity - _rows);
            for (var c = 0; c < _columns.Count; c++)
            {
                using var writer = _group.Column(c);
                Write(writer, c, batch, from, take);
            }

            from += take;
            _rows += take;
            if (_rows == _capacity)
            {
                _group.Close();
                _group = null;
                _rows = 0;
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Good rows [from, from + count) of the batch into output column <paramref name="c"/>.</summary>
    private void Write(ColumnWriter writer, int c, ScoredColumns batch, int from, int count)
    {
        var kept = batch.Kept.Length;
        if (c < kept)
        {
            var data = batch.Kept[c]!;
            switch (data.Values)
            {
                case long[] longs:
                    WriteOptional((ColumnWriter<long>)writer, longs, 0, data.Nulls, batch, from, count);
                    break;
                case double[] doubles when _columns[c].Single:
                    {
                        // Floats the reader widened: narrowing them back is exact.
                        var first = batch.Row(from);
                        var span = batch.Row(from + count - 1) + 1 - first;
                        var floats = ArrayPool<float>.Shared.Rent(span);
                        for (var i = 0; i < span; i++)
                        {
                            floats[i] = (float)doubles[first + i];
                        }

                        WriteOptional((ColumnWriter<float>)writer, floats, first, data.Nulls, batch, from, count);
                        ArrayPool<float>.Shared.Return(floats);
                        break;
                    }

                case double[] doubles:
                    WriteOptional((ColumnWriter<double>)writer, doubles, 0, data.Nulls, batch, from, count);
                    break;
                case bool[] bools:
                    WriteOptional((ColumnWriter<bool>)writer, bools, 0, data.Nulls, batch, from, count);
                    break;
                case float[] floats:
                    WriteRows(((ColumnWriter<float>)writer).WriteBatch, floats, batch, from, count);
                    break;
                case string?[] strings:
                    {
                        using var logical = writer.LogicalWriter<string?>();
                        WriteRows(logical.WriteBatch, strings, batch, from, count);
                        break;
                    }

                default:
                    {
                        using var logical = writer.LogicalWriter<byte[]?>();
                        WriteRows(logical.WriteBatch, (byte[]?[])data.Values, batch, from, count);
                        break;
                    }
            }

            return;
        }

        if (batch.Labels is not null && c == kept)
        {
            using var labels = writer.LogicalWriter<string>();
            labels.WriteBatch(batch.Labels.AsSpan(from, count));
        }
        else if (batch.Labels is not null && c == kept + 1)
        {
            ((ColumnWriter<float>)writer).WriteBatch(batch.Probability.AsSpan(from, count));
        }
        else
        {
            // Every element defined (the list at level 1, its repeated group at 2); a new row at repetition level 0.
            var per = batch.Per;
            var values = count * per;
            var levels = ArrayPool<short>.Shared.Rent(values);
            var repetition = ArrayPool<short>.Shared.Rent(values);
            levels.AsSpan(0, values).Fill(2);
            repetition.AsSpan(0, values).Fill(1);
            for (var r = 0; r < count; r++)
            {
                repetition[r * per] = 0;
            }

            ((ColumnWriter<float>)writer).WriteBatch(values, levels, repetition, batch.Scores.AsSpan(from * per, values));
            ArrayPool<short>.Shared.Return(levels);
            ArrayPool<short>.Shared.Return(repetition);
        }
    }

    /// <summary>
    /// An OPTIONAL number or boolean column's good rows: a definition level per row (1 present, 0 null) and the present
    /// values packed. <paramref name="values"/>[i] holds the kept column's row <paramref name="origin"/> + i.
    /// </summary>
    private static void WriteOptional<T>(ColumnWriter<T> writer, T[] values, int origin, bool[]? nulls, ScoredColumns batch, int from, int count)
        where T : unmanaged
    {
        var levels = ArrayPool<short>.Shared.Rent(count);
        if (batch.Rows is null && nulls is null)
        {
            // Every row of the chunk is good and none is null: the values as they are.
            levels.AsSpan(0, count).Fill(1);
            writer.WriteBatch(count, levels, default, values.AsSpan(batch.Row(from) - origin, count));
        }
        else
        {
            var packed = ArrayPool<T>.Shared.Rent(count);
            var present = 0;
            for (var i = 0; i < count; i++)
            {
                var row = batch.Row(from + i);
                var isNull = nulls is not null && nulls[row];
                levels[i] = isNull ? (short)0 : (short)1;
                if (!isNull)
                {
                    packed[present++] = values[row - origin];
                }
            }

            writer.WriteBatch(count, levels, default, packed.AsSpan(0, present));
            ArrayPool<T>.Shared.Return(packed);
        }

        ArrayPool<short>.Shared.Return(levels);
    }

    /// <summary>A column written row for row (nulls as null references): the good rows' values, gathered when some rows were bad.</summary>
    private static void WriteRows<T>(ReadOnlySpanAction<T> write, T[] values, ScoredColumns batch, int from, int count)
    {
        if (batch.Rows is null)
        {
            write(values.AsSpan(batch.Row(from), count));
            return;
        }

        var gathered = ArrayPool<T>.Shared.Rent(count);
        for (var i = 0; i < count; i++)
        {
            gathered[i] = values[batch.Row(from + i)];
        }

        write(gathered.AsSpan(0, count));
        ArrayPool<T>.Shared.Return(gathered, clearArray: true);
    }

    private delegate void ReadOnlySpanAction<T>(ReadOnlySpan<T> values);

    /// <summary>
    /// Writes one row of <paramref name="columns"/> to memory and drops it, so the encoder is compiled while the job's
    /// first row group is still being read, on the core that is idle then, not at the first real row group, which
    /// would stall the scorers behind the writer.
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

    /// <summary>Writes the footer (a file with no row group is still a valid, empty Parquet file) and flushes.</summary>
    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        _writer.Close();
        _group = null;
        await _stream.FlushAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        _writer.Dispose();
        await _stream.DisposeAsync();
    }
}
