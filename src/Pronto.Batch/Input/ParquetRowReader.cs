using System.Buffers;
using System.Runtime.CompilerServices;
using ParquetSharp;

namespace Pronto.Batch.Input;

/// <summary>
/// Parquet through ParquetSharp (Apache Arrow's C++ Parquet: every encoding, page version and codec), one row group
/// in memory at a time. Flat top-level columns are input columns (integers as Int64, floating point as Double, UTF-8
/// strings, booleans, binary); nested and repeated columns, and dates, times, timestamps, decimals, UUIDs, INT96 and
/// unsigned 64-bit integers are not. Numbers and booleans are read physically (present values packed, definition
/// levels) straight into pooled arrays and spread to their rows; INT32 is widened as its integer annotation says
/// (an INT(8) truncates to sbyte, a UINT(32) is unsigned).
/// </summary>
internal sealed class ParquetRowReader(string path) : IRowReader
{
    private ParquetFileReader? _file;
    private int[] _leaves = [];
    private IntLogicalType?[] _ints = [];
    private Column[] _columns = [];
    private short[] _levels = [];
    private long _position;

    public IReadOnlyList<Column> Columns => _columns;

    /// <summary>Bytes read so far (approximate, for progress): the data of the row groups passed.</summary>
    public long Position => _position;

    public Task OpenAsync(CancellationToken cancellationToken)
    {
        using var properties = ReaderProperties.WithMemoryPool(ParquetMemory.Pool);
        _file = Guard(() => new ParquetFileReader(path, properties), null);
        var schema = _file.FileMetaData.Schema;
        var leaves = new List<int>();
        var ints = new List<IntLogicalType?>();
        var columns = new List<Column>();
        for (var c = 0; c < schema.NumColumns; c++)
        {
            var column = schema.Column(c);
            var logical = column.LogicalType;
            if (column.MaxRepetitionLevel == 0 && column.Path.ToDotVector().Length == 1 && KindOf(column.PhysicalType, logical) is { } kind)
            {
                leaves.Add(c);
                ints.Add(logical as IntLogicalType);
                if (logical is not IntLogicalType)
                {
                    logical.Dispose();
                }

                columns.Add(new Column(column.Name, kind, Single: column.PhysicalType == PhysicalType.Float));
            }
            else
            {
                logical.Dispose();
            }
        }

        _leaves = [.. leaves];
        _ints = [.. ints];
        _columns = [.. columns];
        return Task.CompletedTask;
    }

    /// <summary>
    /// Each row group's <paramref name="needed"/> columns as <see cref="ColumnData"/> of the job's kinds (null for a
    /// column not needed), in pooled arrays: no per-cell boxing, no nullable structs. A row group none of whose rows
    /// <paramref name="wanted"/> (first row, row count) accepts is not read.
    /// </summary>
    public async IAsyncEnumerable<ColumnGroup> ReadAsync(bool[] needed, Func<long, int, bool> wanted, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        long start = 0;
        for (var g = 0; g < _file!.FileMetaData.NumRowGroups; g++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var group = _file.RowGroup(g);
            var rows = checked((int)group.MetaData.NumRows);
            var columns = new ColumnData?[_columns.Length];
            if (wanted(start, rows))
            {
                for (var c = 0; c < columns.Length; c++)
                {
                    if (needed[c])
                    {
                        columns[c] = Guard(() => Read(group, c, rows), _columns[c].Name);
                    }
                }
            }

            Advance(group.MetaData);
            yield return new ColumnGroup(start, rows, columns);
            start += rows;
        }
    }

    /// <summary>Runs a read, turning ParquetSharp's errors into invalid data naming the file (and the column).</summary>
    private T Guard<T>(Func<T> read, string? column)
    {
        try
        {
            return read();
        }
        catch (ParquetException e)
        {
            var where = column is null ? $"Parquet file '{Path.GetFileName(path)}'" : $"Parquet file '{Path.GetFileName(path)}', column '{column}'";
            throw new InvalidDataException($"{where}: {e.Message}", e);
        }
    }

    private ColumnData Read(RowGroupReader group, int c, int rows)
    {
        using var reader = group.Column(_leaves[c]);
        var kind = _columns[c].Kind;
        return reader switch
        {
            ColumnReader<long> longs => ReadSame(longs, kind, rows),
            ColumnReader<int> ints => ReadWidened(ints, kind, rows, Widening(_ints[c])),
            ColumnReader<double> doubles => ReadSame(doubles, kind, rows),
            ColumnReader<float> floats => ReadWidened<float, double>(floats, kind, rows, static v => v),
            ColumnReader<bool> bools => ReadSame(bools, kind, rows),
            _ when kind == ColumnKind.String => ReadReferences<string>(reader, kind, rows),
            _ => ReadReferences<byte[]>(reader, kind, rows),
        };
    }

    /// <summary>INT32 to Int64 as its integer annotation reads it.</summary>
    private static Func<int, long> Widening(IntLogicalType? type) => (type?.BitWidth, type?.IsSigned) switch
    {
        (8, true) => static v => (sbyte)v,
        (8, false) => static v => (byte)v,
        (16, true) => static v => (short)v,
        (16, false) => static v => (ushort)v,
        (32, false) => static v => (uint)v,
        _ => static v => v,
    };

    /// <summary>A column stored as the job's type (INT64, DOUBLE, BOOLEAN): read packed into its own array, then spread in place.</summary>
    private ColumnData ReadSame<T>(ColumnReader<T> reader, ColumnKind kind, int rows)
        where T : unmanaged
    {
        var values = ArrayPool<T>.Shared.Rent(Math.Max(1, rows));
        var nulls = ReadPacked(reader, values, rows);
        if (nulls is not null)
        {
            ColumnData.Spread(values.AsSpan(0, rows), nulls.AsSpan(0, rows));
        }

        return new ColumnData(kind, values, nulls);
    }

    /// <summary>A column stored narrower (INT32, FLOAT): the present values as stored, widened to the job's type at their rows.</summary>
    private ColumnData ReadWidened<T, TOut>(ColumnReader<T> reader, ColumnKind kind, int rows, Func<T, TOut> widen)
        where T : unmanaged
    {
        var stored = ArrayPool<T>.Shared.Rent(Math.Max(1, rows));
        try
        {
            var nulls = ReadPacked(reader, stored, rows);
            var output = ArrayPool<TOut>.Shared.Rent(Math.Max(1, rows));
            var v = 0;
            for (var r = 0; r < rows; r++)
            {
                output[r] = nulls is not null && nulls[r] ? default! : widen(stored[v++]);
            }

            return new ColumnData(kind, output, nulls);
        }
        finally
        {
            ArrayPool<T>.Shared.Return(stored);
        }
    }

    /// <summary>Reads a row group's <paramref name="rows"/> of a flat column: the present values packed at the front of <paramref name="values"/>, and which rows are null (null, nothing rented, when none is).</summary>
    private bool[]? ReadPacked<T>(ColumnReader<T> reader, T[] values, int rows)
        where T : unmanaged
    {
        var nullable = reader.ColumnDescriptor.MaxDefinitionLevel > 0;
        if (nullable && _levels.Length < rows)
        {
            _levels = new short[rows];
        }

        var (levels, present) = (0, 0);
        while (levels < rows)
        {
            var n = reader.ReadBatch(rows - levels, nullable ? _levels.AsSpan(levels, rows - levels) : default, default, values.AsSpan(present), out var read);
            if (n == 0)
            {
                throw new InvalidDataException($"Parquet file '{Path.GetFileName(path)}', column '{reader.ColumnDescriptor.Name}': the row group ends after {levels} of its {rows} rows");
            }

            levels += (int)n;
            present += (int)read;
        }

        if (present == rows)
        {
            return null;
        }

        var nulls = ColumnData.RentNulls(rows);
        for (var r = 0; r < rows; r++)
        {
            nulls[r] = _levels[r] == 0;
        }

        return nulls;
    }

    /// <summary>A string or binary column through ParquetSharp's logical reader (null references for nulls).</summary>
    private ColumnData ReadReferences<T>(ColumnReader reader, ColumnKind kind, int rows)
        where T : class
    {
        var column = ColumnData.Rent(kind, rows, nullable: false);
        var values = ((T?[])column.Values).AsSpan(0, rows);
        using var logical = reader.LogicalReader<T?>();
        var read = 0;
        while (read < rows)
        {
            var n = logical.ReadBatch(values[read..]);
            if (n == 0)
            {
                throw new InvalidDataException($"Parquet file '{Path.GetFileName(path)}', column '{reader.ColumnDescriptor.Name}': the row group ends after {read} of its {rows} rows");
            }

            read += n;
        }

        return column;
    }

    /// <summary>Progress: the leading magic and the compressed bytes of the row groups passed (their data, not the footer).</summary>
    private void Advance(RowGroupMetaData group)
    {
        _position = Math.Max(_position, 4);
        for (var c = 0; c < group.NumColumns; c++)
        {
            using var chunk = group.GetColumnChunkMetaData(c);
            _position += chunk.TotalCompressedSize;
        }
    }

    private static ColumnKind? KindOf(PhysicalType type, LogicalType logical) => (type, logical) switch
    {
        (PhysicalType.Boolean, _) => ColumnKind.Bool,
        (PhysicalType.Int32, NoneLogicalType or IntLogicalType) => ColumnKind.Int64,
        (PhysicalType.Int64, NoneLogicalType) => ColumnKind.Int64,
        (PhysicalType.Int64, IntLogicalType { IsSigned: true }) => ColumnKind.Int64,
        (PhysicalType.Float or PhysicalType.Double, NoneLogicalType) => ColumnKind.Double,
        (PhysicalType.ByteArray, StringLogicalType or EnumLogicalType or JsonLogicalType) => ColumnKind.String,
        (PhysicalType.ByteArray or PhysicalType.FixedLenByteArray, NoneLogicalType) => ColumnKind.Binary,
        _ => null,
    };

    public ValueTask DisposeAsync()
    {
        foreach (var type in _ints)
        {
            type?.Dispose();
        }

        _file?.Dispose();
        return ValueTask.CompletedTask;
    }
}
