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
