using Parquet;
using Parquet.Schema;
using Pronto.Batch.Scoring;

namespace Pronto.Batch.Output;

/// <summary>
/// Parquet with one row group per <c>rowGroupRows</c> rows, so memory stays bounded by a row group. Kept
/// columns are nullable (string, int64, double, bool, binary); <c>predicted_*</c> lists are list&lt;float&gt;.
/// </summary>
internal sealed partial class ParquetPartWriter : IPartWriter
{
    private readonly Stream _stream;
    private readonly IReadOnlyList<Column> _columns;
    private readonly Field[] _fields;
    private readonly ParquetSchema _schema;
    private readonly int _rowGroupRows;
    private readonly List<object?[]> _rows = [];
    private ParquetWriter? _writer;
    private long _bufferedValues;

    // A row group also ends at this many buffered list values (16 MB of floats): 65,536 rows of 384-float
    // embeddings would otherwise hold 100 MB.
    private const long MaxBufferedValues = 4 << 20;

    public ParquetPartWriter(Stream stream, IReadOnlyList<Column> columns, int rowGroupRows)
    {
        _stream = stream;
        _columns = columns;
        _rowGroupRows = rowGroupRows;
        _fields = [.. columns.Select(FieldOf)];
        _schema = new ParquetSchema(_fields);
    }

    public static Field FieldOf(Column column) => column.Kind switch
    {
        ColumnKind.String => new DataField(column.Name, typeof(string), isNullable: true),
        ColumnKind.Int64 => new DataField(column.Name, typeof(long), isNullable: true),
        ColumnKind.Double => new DataField(column.Name, typeof(double), isNullable: true),
        ColumnKind.Bool => new DataField(column.Name, typeof(bool), isNullable: true),
        ColumnKind.Binary => new DataField(column.Name, typeof(byte[]), isNullable: true),
        ColumnKind.Float => new DataField(column.Name, typeof(float), isNullable: false),
        _ => new ListField(column.Name, new DataField("element", typeof(float), isNullable: false)),
    };

    public async ValueTask WriteAsync(object?[] row, CancellationToken cancellationToken)
    {
        _rows.Add(row);
        _bufferedValues += row.Length;
        foreach (var value in row)
        {
            if (value is float[] list)
            {
                _bufferedValues += list.Length;
            }
        }

        if (_rows.Count >= _rowGroupRows || _bufferedValues >= MaxBufferedValues)
        {
            await FlushAsync(cancellationToken);
        }
    }

    private async ValueTask FlushAsync(CancellationToken ct)
    {
        _writer ??= await ParquetWriter.CreateAsync(_schema, _stream, null, false, ct);
        if (_columnRows > 0)
        {
            await FlushColumnsAsync(ct);
        }

        if (_rows.Count == 0)
        {
            return;
        }

        using var group = _writer.CreateRowGroup();
        var n = _rows.Count;
        for (var c = 0; c < _columns.Count; c++)
        {
            switch (_columns[c].Kind)
            {
                case ColumnKind.String:
                    {
                        var values = new string?[n];
                        for (var r = 0; r < n; r++)
                        {
                            values[r] = (string?)_rows[r][c];
                        }

                        await group.WriteAsync((DataField)_fields[c], values);
                        break;
                    }

                case ColumnKind.Binary:
                    {
                        var values = new byte[]?[n];
                        for (var r = 0; r < n; r++)
                        {
                            values[r] = (byte[]?)_rows[r][c];
                        }

                        await group.WriteAsync((DataField)_fields[c], values);
                        break;
                    }

                case ColumnKind.Int64:
                    await group.WriteAsync((DataField)_fields[c], Nullable<long>(c), null, null, ct);
                    break;
                case ColumnKind.Double:
                    await group.WriteAsync((DataField)_fields[c], Nullable<double>(c), null, null, ct);
                    break;
                case ColumnKind.Bool:
                    await group.WriteAsync((DataField)_fields[c], Nullable<bool>(c), null, null, ct);
                    break;
                case ColumnKind.Float:
                    {
                        var values = new float[n];
                        for (var r = 0; r < n; r++)
                        {
                            values[r] = (float)_rows[r][c]!;
                        }

                        await group.WriteAsync((DataField)_fields[c], (ReadOnlyMemory<float>)values, null, null, ct);
                        break;
                    }

                default:
                    {
                        var total = 0;
                        for (var r = 0; r < n; r++)
                        {
                            total += ((float[])_rows[r][c]!).Length;
                        }

                        var values = new float[total];
                        var levels = new int[total];
                        var at = 0;
                        for (var r = 0; r < n; r++)
                        {
                            var list = (float[])_rows[r][c]!;
                            list.CopyTo(values, at);
                            for (var i = 0; i < list.Length; i++)
                            {
                                // Repetition level 0 starts a row's list, 1 continues it.
                                levels[at + i] = i == 0 ? 0 : 1;
                            }

                            at += list.Length;
                        }

                        var item = (DataField)((ListField)_fields[c]).Item;
                        var defined = new int[total];
                        Array.Fill(defined, item.MaxDefinitionLevel);
                        await group.WriteAllPartsAsync(item, (ReadOnlyMemory<float>)values, definitionValues: defined, repetitionLevels: levels, cancellationToken: ct);
                        break;
                    }
            }
        }

        _rows.Clear();
        _bufferedValues = 0;
    }

    private ReadOnlyMemory<T?> Nullable<T>(int column)
        where T : struct
    {
        var values = new T?[_rows.Count];
        for (var r = 0; r < values.Length; r++)
        {
            values[r] = (T?)_rows[r][column];
        }

        return values;
    }

    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken);
        if (_writer is not null)
        {
            await _writer.DisposeAsync();
            _writer = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_writer is not null)
        {
            await _writer.DisposeAsync();
        }

        _buffers?.Return();
        _buffers = null;
        await _stream.DisposeAsync();
    }
}
