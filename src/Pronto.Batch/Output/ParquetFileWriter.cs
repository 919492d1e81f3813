using System.Buffers;
using ParquetSharp;
using ParquetSharp.Schema;

namespace Pronto.Batch.Output;

/// <summary>
/// A batch output's Parquet file through ParquetSharp, written from the row group's buffers: kept columns are
/// OPTIONAL (INT64, DOUBLE, FLOAT for a <see cref="Column.Single"/> column, BOOLEAN, BYTE_ARRAY as UTF8 string or
/// binary), <c>predicted_probability</c> is a REQUIRED FLOAT and the score and embedding lists are a 3-level LIST of
/// REQUIRED FLOAT. Numbers and booleans go in as packed present values with their definition levels, strings and
/// binary through the logical writer. Dictionary encoding only for string columns (labels), no statistics, the
/// codec given (Snappy by default).
/// </summary>
internal sealed class ParquetFileWriter : IDisposable
{
    private readonly Stream _stream;
    private readonly IReadOnlyList<Column> _columns;
    private readonly ParquetSharp.ParquetFileWriter _writer;
    private short[] _listLevels = [];
    private short[] _repetition = [];

    public ParquetFileWriter(Stream stream, IReadOnlyList<Column> columns, Compression codec = Compression.Snappy)
    {
        _stream = stream;
        _columns = columns;
        using var schema = new GroupNode("schema", Repetition.Required, [.. columns.Select(NodeOf)]);
        using var builder = new WriterPropertiesBuilder();
        builder.Compression(codec).DisableStatistics().DisableDictionary();
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

    public ValueTask WriteRowGroupAsync(RowGroupBuffer buffer, int rows, CancellationToken cancellationToken)
    {
        if (rows == 0)
        {
            return ValueTask.CompletedTask;
        }

        cancellationToken.ThrowIfCancellationRequested();
        using var group = _writer.AppendRowGroup();
        for (var c = 0; c < _columns.Count; c++)
        {
            using var writer = group.NextColumn();
            Write(writer, buffer.Columns[c], _columns[c].Single, rows);
        }

        return ValueTask.CompletedTask;
    }

    private void Write(ColumnWriter writer, ColumnBuffer column, bool single, int rows)
    {
        var levels = column.Levels.AsSpan(0, column.Levels.Length == 0 ? 0 : rows);
        switch (column.Kind)
        {
            case ColumnKind.Int64:
                ((ColumnWriter<long>)writer).WriteBatch(rows, levels, default, ((long[])column.Values).AsSpan(0, column.Present));
                break;
            case ColumnKind.Double when single:
                {
                    var floats = ArrayPool<float>.Shared.Rent(Math.Max(1, column.Present));
                    var doubles = (double[])column.Values;
                    for (var i = 0; i < column.Present; i++)
                    {
                        // Floats the reader widened: narrowing them back is exact.
                        floats[i] = (float)doubles[i];
                    }

                    ((ColumnWriter<float>)writer).WriteBatch(rows, levels, default, floats.AsSpan(0, column.Present));
                    ArrayPool<float>.Shared.Return(floats);
                    break;
                }

            case ColumnKind.Double:
                ((ColumnWriter<double>)writer).WriteBatch(rows, levels, default, ((double[])column.Values).AsSpan(0, column.Present));
                break;
            case ColumnKind.Bool:
                ((ColumnWriter<bool>)writer).WriteBatch(rows, levels, default, ((bool[])column.Values).AsSpan(0, column.Present));
                break;
            case ColumnKind.Float:
                ((ColumnWriter<float>)writer).WriteBatch(((float[])column.Values).AsSpan(0, rows));
                break;
            case ColumnKind.FloatList:
                {
                    // Every element defined (the list at level 1, its repeated group at 2); a new row at repetition level 0.
                    var values = rows * column.Per;
                    if (_listLevels.Length < values)
                    {
                        _listLevels = new short[values];
                        _repetition = new short[values];
                    }

                    _listLevels.AsSpan(0, values).Fill(2);
                    var repetition = _repetition.AsSpan(0, values);
                    repetition.Fill(1);
                    for (var r = 0; r < rows; r++)
                    {
                        repetition[r * column.Per] = 0;
                    }

                    ((ColumnWriter<float>)writer).WriteBatch(values, _listLevels.AsSpan(0, values), repetition, ((float[])column.Values).AsSpan(0, values));
                    break;
                }

            case ColumnKind.String:
                {
                    using var strings = writer.LogicalWriter<string?>();
                    strings.WriteBatch(((string?[])column.Values).AsSpan(0, rows));
                    break;
                }

            default:
                {
                    using var bytes = writer.LogicalWriter<byte[]?>();
                    bytes.WriteBatch(((byte[]?[])column.Values).AsSpan(0, rows));
                    break;
                }
        }
    }

    /// <summary>Writes the footer (a file with no row group is still a valid, empty Parquet file) and flushes.</summary>
    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        _writer.Close();
        await _stream.FlushAsync(cancellationToken);
    }

    public void Dispose() => _writer.Dispose();
}
