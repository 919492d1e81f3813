using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using Parquet;
using Parquet.Schema;

namespace Pronto.Batch.Input;

/// <summary>
/// Parquet, one row group in memory at a time. Flat columns are read (integers as Int64, floating point as
/// Double, strings, booleans, binary); nested and repeated columns are not input columns. Both paths decode the
/// common numeric and boolean column chunks with <see cref="ParquetColumnDecoder"/> (unless
/// <paramref name="decodePages"/> is false: tests compare it with Parquet.Net's) and read the others through Parquet.Net.
/// </summary>
internal sealed class ParquetRowReader(string path, int bufferBytes, bool decodePages = true) : IRowReader
{
    private FileStream? _stream;
    private ParquetReader? _reader;
    private ParquetColumnDecoder? _decoder;
    private DataField[] _fields = [];
    private Column[] _columns = [];
    private int[] _levels = [];
    private long _columnarPosition;

    public IReadOnlyList<Column> Columns => _columns;

    /// <summary>
    /// Bytes read so far: the stream's position on the row path; on the columnar path, which reads chunks by offset
    /// (its own decoder not through the stream), the end of the last row group passed.
    /// </summary>
    public long Position => _columnarPosition > 0 ? _columnarPosition : _stream?.Position ?? 0;

    /// <summary>Column chunks the columnar path decoded itself rather than through Parquet.Net.</summary>
    public int DecodedChunks => _decoder?.DecodedChunks ?? 0;

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
                columns.Add(new Column(data.Name, kind, Single: data.ClrType == typeof(float)));
            }
        }

        _fields = [.. fields];
        _columns = [.. columns];
    }

    /// <summary>
    /// The row path: every row group's columns read as the columnar path reads them (<see cref="ReadColumnData"/>),
    /// then boxed row by row (integers as long, floating point as double, booleans, strings, byte arrays; null for
    /// a null).
    /// </summary>
    public async IAsyncEnumerable<(object?[]? Values, string? Error)> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var columns = new ColumnData[_fields.Length];
        for (var g = 0; g < _reader!.RowGroupCount; g++)
        {
            object?[][] rows;
            using (var group = _reader.OpenRowGroupReader(g))
            {
                var count = checked((int)group.RowCount);
                for (var c = 0; c < _fields.Length; c++)
                {
                    columns[c] = await ReadColumnData(group, c, count, cancellationToken);
                }

                rows = new object?[count][];
                for (var r = 0; r < count; r++)
                {
                    var values = new object?[_fields.Length];
                    for (var c = 0; c < values.Length; c++)
                    {
                        values[c] = columns[c].Box(r);
                    }

                    rows[r] = values;
                }

                foreach (var column in columns)
                {
                    column.Return();
                }

                Advance(group.RowGroup);
            }

            foreach (var row in rows)
            {
                yield return (row, null);
            }
        }
    }

    /// <summary>
    /// The columnar fast path: each row group's <paramref name="needed"/> columns as <see cref="ColumnData"/> of the
    /// job's kinds (null for a column not needed), decoded straight into pooled arrays: no per-cell boxing, no
    /// nullable structs. A row group none of whose rows <paramref name="wanted"/> (first row, row count) accepts is
    /// not decoded. The caller releases each group (<see cref="ColumnGroup.Release"/>).
    /// </summary>
    public async IAsyncEnumerable<ColumnGroup> ReadColumnsAsync(bool[] needed, Func<long, int, bool> wanted, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long start = 0;
        for (var g = 0; g < _reader!.RowGroupCount; g++)
        {
            using var group = _reader.OpenRowGroupReader(g);
            var rows = checked((int)group.RowCount);
            var columns = new ColumnData?[_fields.Length];
            if (wanted(start, rows))
            {
                for (var c = 0; c < _fields.Length; c++)
                {
                    if (needed[c])
                    {
                        columns[c] = await ReadColumnData(group, c, rows, cancellationToken);
                    }
                }
            }

            Advance(group.RowGroup);
            yield return new ColumnGroup(start, rows, columns);
            start += rows;
        }
    }

    /// <summary>Column <paramref name="c"/> of a row group: decoded by <see cref="ParquetColumnDecoder"/> when it can, else through Parquet.Net.</summary>
    private ValueTask<ColumnData> ReadColumnData(ParquetRowGroupReader group, int c, int rows, CancellationToken ct)
    {
        if (decodePages)
        {
            _decoder ??= new ParquetColumnDecoder(path);
        }

        var field = _fields[c];
        var kind = _columns[c].Kind;
        return _decoder?.TryDecode(field, group.GetMetadata(field), kind, rows) is { } decoded
            ? ValueTask.FromResult(decoded)
            : new ValueTask<ColumnData>(ReadColumnDataAsync(group, field, kind, rows, ct));
    }

    /// <summary>Progress: the end of the row group just read (the decoder reads chunks by offset, not through the stream).</summary>
    private void Advance(Parquet.Meta.RowGroup group) => _columnarPosition = Math.Max(_columnarPosition, EndOf(group));

    /// <summary>Where a row group's last column chunk ends in the file.</summary>
    private static long EndOf(Parquet.Meta.RowGroup group)
    {
        long end = 0;
        foreach (var chunk in group.Columns)
        {
            if (chunk.MetaData is { } meta)
            {
                end = Math.Max(end, ParquetColumnDecoder.StartOf(meta) + meta.TotalCompressedSize);
            }
        }

        return end;
    }

    /// <summary>A column chunk through Parquet.Net: strings and binary, and the chunks <see cref="ParquetColumnDecoder"/> leaves.</summary>
    private async Task<ColumnData> ReadColumnDataAsync(ParquetRowGroupReader group, DataField field, ColumnKind kind, int rows, CancellationToken ct)
    {
        if (field.MaxDefinitionLevel > 0 && _levels.Length < rows)
        {
            _levels = new int[rows];
        }

        var levels = _levels;
        var type = field.ClrType;
        if (kind is ColumnKind.String or ColumnKind.Binary)
        {
            var column = ColumnData.Rent(kind, rows, nullable: false);
            if (kind == ColumnKind.String)
            {
                await group.ReadAsync(field, ((string?[])column.Values).AsMemory(0, rows), null, ct);
            }
            else
            {
                await group.ReadAsync(field, ((byte[]?[])column.Values).AsMemory(0, rows), null, ct);
            }

            return column;
        }

        return type switch
        {
            _ when type == typeof(long) => await ReadNumbersAsync<long, long>(group, field, kind, rows, levels, ct),
            _ when type == typeof(int) => await ReadNumbersAsync<int, long>(group, field, kind, rows, levels, ct),
            _ when type == typeof(short) => await ReadNumbersAsync<short, long>(group, field, kind, rows, levels, ct),
            _ when type == typeof(sbyte) => await ReadNumbersAsync<sbyte, long>(group, field, kind, rows, levels, ct),
            _ when type == typeof(byte) => await ReadNumbersAsync<byte, long>(group, field, kind, rows, levels, ct),
            _ when type == typeof(ushort) => await ReadNumbersAsync<ushort, long>(group, field, kind, rows, levels, ct),
            _ when type == typeof(uint) => await ReadNumbersAsync<uint, long>(group, field, kind, rows, levels, ct),
            _ when type == typeof(double) => await ReadNumbersAsync<double, double>(group, field, kind, rows, levels, ct),
            _ when type == typeof(float) => await ReadNumbersAsync<float, double>(group, field, kind, rows, levels, ct),
            _ => await ReadBoolsAsync(group, field, rows, levels, ct),
        };
    }

    /// <summary>A numeric column: the present values as stored (packed), widened to the job's type and spread to their rows.</summary>
    private static async Task<ColumnData> ReadNumbersAsync<T, TOut>(ParquetRowGroupReader group, DataField field, ColumnKind kind, int rows, int[] levels, CancellationToken ct)
        where T : unmanaged, INumberBase<T>
        where TOut : unmanaged, INumberBase<TOut>
    {
        var nullable = field.MaxDefinitionLevel > 0;
        if (typeof(T) == typeof(TOut))
        {
            // Stored as the job's type (int64, double): decoded in place.
            var values = ArrayPool<T>.Shared.Rent(rows);
            await group.ReadRawAsync(field, values.AsMemory(0, rows), LevelsOf(levels, rows, nullable), null, ct);
            var nulls = nullable ? Nulls(levels.AsSpan(0, rows), field.MaxDefinitionLevel) : null;
            if (nulls is not null)
            {
                ColumnData.Spread(values.AsSpan(0, rows), nulls.AsSpan(0, rows));
            }

            return new ColumnData(kind, values, nulls);
        }

        var stored = ArrayPool<T>.Shared.Rent(rows);
        try
        {
            await group.ReadRawAsync(field, stored.AsMemory(0, rows), LevelsOf(levels, rows, nullable), null, ct);
            var nulls = nullable ? Nulls(levels.AsSpan(0, rows), field.MaxDefinitionLevel) : null;
            var values = ArrayPool<TOut>.Shared.Rent(rows);
            var v = 0;
            for (var r = 0; r < rows; r++)
            {
                values[r] = nulls is not null && nulls[r] ? TOut.Zero : TOut.CreateTruncating(stored[v++]);
            }

            return new ColumnData(kind, values, nulls);
        }
        finally
        {
            ArrayPool<T>.Shared.Return(stored);
        }
    }

    private static async Task<ColumnData> ReadBoolsAsync(ParquetRowGroupReader group, DataField field, int rows, int[] levels, CancellationToken ct)
    {
        var nullable = field.MaxDefinitionLevel > 0;
        var values = ArrayPool<bool>.Shared.Rent(rows);
        await group.ReadRawAsync(field, values.AsMemory(0, rows), LevelsOf(levels, rows, nullable), null, ct);
        var nulls = nullable ? Nulls(levels.AsSpan(0, rows), field.MaxDefinitionLevel) : null;
        if (nulls is not null)
        {
            ColumnData.Spread(values.AsSpan(0, rows), nulls.AsSpan(0, rows));
        }

        return new ColumnData(ColumnKind.Bool, values, nulls);
    }

    /// <summary>The definition levels buffer for a nullable column, none for a required one.</summary>
    /// <remarks>Not <c>nullable ? levels.AsMemory() : null</c>: that null converts to an empty Memory, which is not "none".</remarks>
    private static Memory<int>? LevelsOf(int[] levels, int rows, bool nullable) => nullable ? levels.AsMemory(0, rows) : (Memory<int>?)null;

    /// <summary>Which rows are null, from the definition levels; null (and nothing rented) when none is.</summary>
    private static bool[]? Nulls(ReadOnlySpan<int> levels, int defined)
    {
        if (levels.IndexOfAnyExcept(defined) < 0)
        {
            return null;
        }

        var nulls = ArrayPool<bool>.Shared.Rent(levels.Length);
        for (var r = 0; r < levels.Length; r++)
        {
            nulls[r] = levels[r] != defined;
        }

        return nulls;
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
        _decoder?.Dispose();
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
