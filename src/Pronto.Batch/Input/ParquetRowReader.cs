using System.Runtime.CompilerServices;
using Parquet;
using Parquet.Schema;

namespace Pronto.Batch.Input;

/// <summary>
/// Parquet, one row group in memory at a time. Flat columns are read (integers as Int64, floating point as
/// Double, strings, booleans, binary); nested and repeated columns are not input columns.
/// </summary>
internal sealed class ParquetRowReader(string path, int bufferBytes) : IRowReader
{
    private FileStream? _stream;
    private ParquetReader? _reader;
    private DataField[] _fields = [];
    private Column[] _columns = [];

    public IReadOnlyList<Column> Columns => _columns;

    public long Position => _stream?.Position ?? 0;

    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferBytes);
        _reader = await ParquetReader.CreateAsync(_stream, null, leaveStreamOpen: false, cancellationToken);
        var fields = new List<DataField>();
        var columns = new List<Column>();
        foreach (var field in _reader.Schema.Fields)
        {
            if (field is DataField data && !data.IsArray && KindOf(data.ClrType) is { } kind)
            {
                fields.Add(data);
                columns.Add(new Column(data.Name, kind));
            }
        }

        _fields = [.. fields];
        _columns = [.. columns];
    }

    public async IAsyncEnumerable<(object?[]? Values, string? Error)> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var g = 0; g < _reader!.RowGroupCount; g++)
        {
            using var group = _reader.OpenRowGroupReader(g);
            var rows = checked((int)group.RowCount);
            var columns = new object?[_fields.Length][];
            for (var c = 0; c < _fields.Length; c++)
            {
                columns[c] = await ReadColumnAsync(group, _fields[c], rows, cancellationToken);
            }

            for (var r = 0; r < rows; r++)
            {
                var values = new object?[_fields.Length];
                for (var c = 0; c < values.Length; c++)
                {
                    values[c] = columns[c][r];
                }

                yield return (values, null);
            }
        }
    }

    /// <summary>
    /// The columnar fast path: each row group's <paramref name="needed"/> columns as typed arrays of the job's
    /// kinds (long?[], double?[], bool?[], string?[], byte[]?[]; null for a column not needed), no per-cell boxing.
    /// A row group none of whose rows <paramref name="wanted"/> (first row, row count) accepts is not decoded.
    /// </summary>
    public async IAsyncEnumerable<ColumnGroup> ReadColumnsAsync(bool[] needed, Func<long, int, bool> wanted, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long start = 0;
        for (var g = 0; g < _reader!.RowGroupCount; g++)
        {
            using var group = _reader.OpenRowGroupReader(g);
            var rows = checked((int)group.RowCount);
            var columns = new Array?[_fields.Length];
            if (wanted(start, rows))
            {
                for (var c = 0; c < _fields.Length; c++)
                {
                    if (needed[c])
                    {
                        columns[c] = await ReadTypedAsync(group, _fields[c], rows, cancellationToken);
                    }
                }
            }

            yield return new ColumnGroup(start, rows, columns);
            start += rows;
        }
    }

    private static async Task<Array> ReadTypedAsync(ParquetRowGroupReader group, DataField field, int rows, CancellationToken ct)
    {
        var type = field.ClrType;
        if (type == typeof(string) || type == typeof(ReadOnlyMemory<char>))
        {
            var values = new string?[rows];
            await group.ReadAsync(field, values.AsMemory(), null, ct);
            return values;
        }

        if (type == typeof(byte[]) || type == typeof(ReadOnlyMemory<byte>))
        {
            var values = new byte[]?[rows];
            await group.ReadAsync(field, values.AsMemory(), null, ct);
            return values;
        }

        return type switch
        {
            _ when type == typeof(long) => await ReadTypedAsync<long, long>(group, field, rows, v => v, ct),
            _ when type == typeof(int) => await ReadTypedAsync<int, long>(group, field, rows, v => v, ct),
            _ when type == typeof(short) => await ReadTypedAsync<short, long>(group, field, rows, v => v, ct),
            _ when type == typeof(sbyte) => await ReadTypedAsync<sbyte, long>(group, field, rows, v => v, ct),
            _ when type == typeof(byte) => await ReadTypedAsync<byte, long>(group, field, rows, v => v, ct),
            _ when type == typeof(ushort) => await ReadTypedAsync<ushort, long>(group, field, rows, v => v, ct),
            _ when type == typeof(uint) => await ReadTypedAsync<uint, long>(group, field, rows, v => v, ct),
            _ when type == typeof(double) => await ReadTypedAsync<double, double>(group, field, rows, v => v, ct),
            _ when type == typeof(float) => await ReadTypedAsync<float, double>(group, field, rows, v => v, ct),
            _ => await ReadTypedAsync<bool, bool>(group, field, rows, v => v, ct),
        };
    }

    private static async Task<Array> ReadTypedAsync<T, TOut>(ParquetRowGroupReader group, DataField field, int rows, Func<T, TOut> convert, CancellationToken ct)
        where T : struct
        where TOut : struct
    {
        var result = new TOut?[rows];
        if (field.IsNullable)
        {
            if (typeof(T) == typeof(TOut))
            {
                await group.ReadAsync(field, ((T?[])(object)result).AsMemory(), null, ct);
                return result;
            }

            var values = new T?[rows];
            await group.ReadAsync(field, values.AsMemory(), null, ct);
            for (var i = 0; i < rows; i++)
            {
                result[i] = values[i] is { } v ? convert(v) : null;
            }
        }
        else
        {
            var values = new T[rows];
            await group.ReadAsync(field, values.AsMemory(), null, ct);
            for (var i = 0; i < rows; i++)
            {
                result[i] = convert(values[i]);
            }
        }

        return result;
    }

    private static async Task<object?[]> ReadColumnAsync(ParquetRowGroupReader group, DataField field, int rows, CancellationToken ct)
    {
        var type = field.ClrType;
        if (type == typeof(string) || type == typeof(ReadOnlyMemory<char>))
        {
            var values = new string?[rows];
            await group.ReadAsync(field, values.AsMemory(), null, ct);
            return [.. values];
        }

        if (type == typeof(byte[]) || type == typeof(ReadOnlyMemory<byte>))
        {
            var values = new byte[]?[rows];
            await group.ReadAsync(field, values.AsMemory(), null, ct);
            return [.. values];
        }

        return type switch
        {
            _ when type == typeof(long) => await ReadAsync<long>(group, field, rows, v => v, ct),
            _ when type == typeof(int) => await ReadAsync<int>(group, field, rows, v => (long)v, ct),
            _ when type == typeof(short) => await ReadAsync<short>(group, field, rows, v => (long)v, ct),
            _ when type == typeof(sbyte) => await ReadAsync<sbyte>(group, field, rows, v => (long)v, ct),
            _ when type == typeof(byte) => await ReadAsync<byte>(group, field, rows, v => (long)v, ct),
            _ when type == typeof(ushort) => await ReadAsync<ushort>(group, field, rows, v => (long)v, ct),
            _ when type == typeof(uint) => await ReadAsync<uint>(group, field, rows, v => (long)v, ct),
            _ when type == typeof(double) => await ReadAsync<double>(group, field, rows, v => v, ct),
            _ when type == typeof(float) => await ReadAsync<float>(group, field, rows, v => (double)v, ct),
            _ => await ReadAsync<bool>(group, field, rows, v => v, ct),
        };
    }

    private static async Task<object?[]> ReadAsync<T>(ParquetRowGroupReader group, DataField field, int rows, Func<T, object> box, CancellationToken ct)
        where T : struct
    {
        var result = new object?[rows];
        if (field.IsNullable)
        {
            var values = new T?[rows];
            await group.ReadAsync(field, values.AsMemory(), null, ct);
            for (var i = 0; i < rows; i++)
            {
                result[i] = values[i] is { } v ? box(v) : null;
            }
        }
        else
        {
            var values = new T[rows];
            await group.ReadAsync(field, values.AsMemory(), null, ct);
            for (var i = 0; i < rows; i++)
            {
                result[i] = box(values[i]);
            }
        }

        return result;
    }

    private static ColumnKind? KindOf(Type type) => type switch
    {
        _ when type == typeof(string) || type == typeof(ReadOnlyMemory<char>) => ColumnKind.String,
        _ when type == typeof(byte[]) || type == typeof(ReadOnlyMemory<byte>) => ColumnKind.Binary,
        _ when type == typeof(bool) => ColumnKind.Bool,
        _ when type == typeof(double) || type == typeof(float) => ColumnKind.Double,
        _ when type == typeof(long) || type == typeof(int) || type == typeof(short) || type == typeof(sbyte)
            || type == typeof(byte) || type == typeof(ushort) || type == typeof(uint) => ColumnKind.Int64,
        _ => null,
    };

    public async ValueTask DisposeAsync()
    {
        if (_reader is not null)
        {
            await _reader.DisposeAsync();
        }

        if (_stream is not null)
        {
            await _stream.DisposeAsync();
        }
    }
}
