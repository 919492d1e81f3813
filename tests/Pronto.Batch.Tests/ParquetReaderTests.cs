using DuckDB.NET.Data;
using Parquet;
using Parquet.Schema;
using ParquetSharp;
using Pronto.Batch.Input;
using static Pronto.Batch.Tests.BatchTestData;
using Column = Pronto.Batch.Column;

namespace Pronto.Batch.Tests;

/// <summary>
/// The batch Parquet reader (ParquetSharp) gives what Parquet.Net, an independent implementation, gives: the same
/// columns, value for value and null for null, for files Parquet.Net and DuckDB write in every codec and page version.
/// </summary>
public sealed class ParquetReaderTests
{
    /// <summary>Row groups of uneven sizes, one of a single row.</summary>
    private static readonly int[] GroupSizes = [1000, 1, 2500];

    /// <summary>
    /// Every numeric kind Parquet.Net writes (INT32 as int, short, sbyte, byte, ushort and uint; INT64, FLOAT, DOUBLE,
    /// BOOLEAN), required and nullable, with nulls, a nullable column without any, one almost all null, NaN,
    /// -0 and extremes; and a string column, which Parquet.Net always reads.
    /// </summary>
    private static async Task WriteKindsAsync(string path, CompressionMethod compression)
    {
        Field[] fields =
        [
            new DataField<int>("i32"), new DataField<int?>("i32n"), new DataField<long>("i64"), new DataField<long?>("i64n"),
            new DataField<float>("f"), new DataField<float?>("fn"), new DataField<double>("d"), new DataField<double?>("dn"),
            new DataField<double?>("dense"), new DataField<double?>("sparse"), new DataField<bool>("b"), new DataField<bool?>("bn"),
            new DataField<short>("s16"), new DataField<short?>("s16n"), new DataField<sbyte>("s8"), new DataField<byte>("u8"),
            new DataField<ushort>("u16"), new DataField<uint>("u32"), new DataField<string>("id"),
        ];
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream, new ParquetOptions { CompressionMethod = compression });
        var start = 0;
        foreach (var size in GroupSizes)
        {
            var rows = Enumerable.Range(start, size).ToArray();
            using var group = writer.CreateRowGroup();
            await group.WriteAsync((DataField)fields[0], (ReadOnlyMemory<int>)rows.Select(i => (i * 7) - 1000).ToArray());
            await group.WriteAsync((DataField)fields[1], (ReadOnlyMemory<int?>)rows.Select(i => i % 5 == 0 ? null : (int?)i).ToArray());
            await group.WriteAsync((DataField)fields[2], (ReadOnlyMemory<long>)rows.Select(i => i * 1_000_000_007L).ToArray());
            await group.WriteAsync((DataField)fields[3], (ReadOnlyMemory<long?>)rows.Select(i => i % 3 == 0 ? null : (long?)-i).ToArray());
            await group.WriteAsync((DataField)fields[4], (ReadOnlyMemory<float>)rows.Select(i => i == 1 ? float.NaN : i * 0.25f).ToArray());
            await group.WriteAsync((DataField)fields[5], (ReadOnlyMemory<float?>)rows.Select(i => i % 4 == 1 ? null : (float?)(i / 3f)).ToArray());
            await group.WriteAsync((DataField)fields[6], (ReadOnlyMemory<double>)rows.Select(i => i switch { 2 => -0.0, 3 => double.MaxValue, _ => i / 7.0 }).ToArray());
            await group.WriteAsync((DataField)fields[7], (ReadOnlyMemory<double?>)rows.Select(i => i % 2 == 0 ? null : (double?)i).ToArray());
            await group.WriteAsync((DataField)fields[8], (ReadOnlyMemory<double?>)rows.Select(i => (double?)(i * 1.5)).ToArray());
            await group.WriteAsync((DataField)fields[9], (ReadOnlyMemory<double?>)rows.Select(i => i == 5 ? (double?)1.5 : null).ToArray());
            await group.WriteAsync((DataField)fields[10], (ReadOnlyMemory<bool>)rows.Select(i => i % 3 == 0).ToArray());
            await group.WriteAsync((DataField)fields[11], (ReadOnlyMemory<bool?>)rows.Select(i => i % 4 == 0 ? null : (bool?)(i % 2 == 0)).ToArray());
            await group.WriteAsync((DataField)fields[12], (ReadOnlyMemory<short>)rows.Select(i => (short)((i % 60_000) - 30_000)).ToArray());
            await group.WriteAsync((DataField)fields[13], (ReadOnlyMemory<short?>)rows.Select(i => i % 6 == 0 ? null : (short?)-i).ToArray());
            await group.WriteAsync((DataField)fields[14], (ReadOnlyMemory<sbyte>)rows.Select(i => (sbyte)((i % 256) - 128)).ToArray());
            await group.WriteAsync((DataField)fields[15], (ReadOnlyMemory<byte>)rows.Select(i => (byte)i).ToArray());
            await group.WriteAsync((DataField)fields[16], (ReadOnlyMemory<ushort>)rows.Select(i => (ushort)(i * 3)).ToArray());
            await group.WriteAsync((DataField)fields[17], (ReadOnlyMemory<uint>)rows.Select(i => uint.MaxValue - (uint)i).ToArray());
            await group.WriteAsync((DataField)fields[18], rows.Select(i => i % 9 == 0 ? null : "r" + i).ToArray());
            start += size;
        }
    }

    /// <summary>Every codec Parquet.Net writes: the same columns as Parquet.Net reads, and the values written.</summary>
    [Theory]
    [InlineData(CompressionMethod.Snappy)]
    [InlineData(CompressionMethod.None)]
    [InlineData(CompressionMethod.Gzip)]
    [InlineData(CompressionMethod.Zstd)]
    public async Task Parquet_net_files_read_as_parquet_net_reads_them(CompressionMethod compression)
    {
        var path = Path.Combine(Temp(), "kinds.parquet");
        await WriteKindsAsync(path, compression);
        var (columns, actual) = await ReadAsync(path);
        Assert.Equal(19, columns.Count);
        Assert.Equal("i32:Int64 i32n:Int64 i64:Int64 i64n:Int64 f:Double fn:Double d:Double dn:Double dense:Double sparse:Double b:Bool bn:Bool s16:Int64 s16n:Int64 s8:Int64 u8:Int64 u16:Int64 u32:Int64 id:String", string.Join(" ", columns.Select(c => $"{c.Name}:{c.Kind}")));
        var expected = await ReferenceAsync(path, columns);
        AssertSameColumns(columns, expected, actual);

        // Exact values, not only agreement: the last group starts at row 1001.
        var last = actual[2];
        Assert.Equal(new long[] { -1001, 0, -1003 }, Longs(last, columns, "i64n")[..3]);
        Assert.Equal(new[] { false, true, false, false }, ColumnOf(last, columns, "i64n").Nulls![..4]);
        Assert.Equal(uint.MaxValue - 1001L, Longs(last, columns, "u32")[0]);
        Assert.Equal(105L, Longs(last, columns, "s8")[0]);
        Assert.Null(ColumnOf(last, columns, "dense").Nulls);
        var sparse = ColumnOf(actual[0], columns, "sparse");
        Assert.Equal(999, sparse.Nulls!.AsSpan(0, 1000).Count(true));
        Assert.Equal(1.5, ((double[])sparse.Values)[5]);
        Assert.True(double.IsNaN(((double[])ColumnOf(actual[0], columns, "f").Values)[1]));
        Assert.True(double.IsNegative(((double[])ColumnOf(actual[0], columns, "d").Values)[2]));
        Assert.True(columns.Single(c => c.Name == "f").Single);
        Release(expected, actual);
    }

    /// <summary>
    /// DuckDB writes v1 pages with dictionary pages for columns of few values and every column OPTIONAL; with
    /// PARQUET_VERSION V2, DATA_PAGE_V2 pages, RLE_DICTIONARY, DELTA_BINARY_PACKED and BYTE_STREAM_SPLIT: all read as
    /// Parquet.Net reads them.
    /// </summary>
    [Theory]
    [InlineData("COMPRESSION snappy", true)]
    [InlineData("COMPRESSION uncompressed", true)]
    [InlineData("COMPRESSION zstd, PARQUET_VERSION V2", false)]
    [InlineData("COMPRESSION snappy, PARQUET_VERSION V2", false)]
    public async Task DuckDB_files_read_as_parquet_net_reads_them(string options, bool u32)
    {
        var path = Path.Combine(Temp(), "duck.parquet");
        WriteDuckDb(path, options, u32);
        using (var file = new ParquetFileReader(path))
        using (var group = file.RowGroup(0))
        using (var chunk = group.MetaData.GetColumnChunkMetaData(1))
        {
            Assert.Contains(chunk.Encodings, e => e is Encoding.PlainDictionary or Encoding.RleDictionary);
        }

        var (columns, actual) = await ReadAsync(path);
        var expected = await ReferenceAsync(path, columns);
        Assert.True(actual.Count > 1);
        AssertSameColumns(columns, expected, actual);
        var second = actual[1];
        if (u32)
        {
            Assert.Equal(uint.MaxValue - second.Start, Longs(second, columns, "u32")[0]);
        }

        var lowcard = ColumnOf(second, columns, "lowcard");
        var firstNull = (int)((9 - (second.Start % 9)) % 9);
        Assert.Equal([true, false], lowcard.Nulls.AsSpan(firstNull, 2).ToArray());
        Assert.Equal((second.Start + firstNull + 1) % 5, ((long[])lowcard.Values)[firstNull + 1]);
        Release(expected, actual);
    }

    /// <summary>
    /// A known limit of ParquetSharp 25.0.1.2 (Arrow's C++ reader): DuckDB's V2 DELTA_BINARY_PACKED pages of a
    /// UINTEGER column whose values fall (deltas wider than 32 bits) do not read; ascending UINTEGER and BIGINT
    /// columns do. The job stops with invalid data naming the file and the column, never wrong values.
    /// </summary>
    [Fact]
    public async Task A_duckdb_v2_falling_uinteger_column_is_invalid_data_naming_the_column()
    {
        var path = Path.Combine(Temp(), "duck.parquet");
        WriteDuckDb(path, "COMPRESSION snappy, PARQUET_VERSION V2", u32: true);
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAsync(path));
        Assert.Equal("Parquet file 'duck.parquet', column 'u32': N7parquet16ParquetExceptionE (message: 'Unexpected end of stream: InitHeader EOF')", error.Message);
    }

    /// <summary>A file cut short and a page overwritten are invalid data naming the file (and the column), not a crash.</summary>
    [Fact]
    public async Task A_cut_or_corrupt_file_is_invalid_data_naming_the_file()
    {
        var path = Path.Combine(Temp(), "bad.parquet");
        var field = new DataField<double?>("amount");
        await using (var stream = File.Create(path))
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(field), stream, new ParquetOptions { CompressionMethod = CompressionMethod.None }))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(field, (ReadOnlyMemory<double?>)new double?[] { 1, null, 3 });
        }

        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^10]);
        var cut = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAsync(path));
        Assert.StartsWith("Parquet file 'bad.parquet': ", cut.Message);

        File.WriteAllBytes(path, bytes);
        // The first column chunk's first page header starts after the leading magic.
        bytes.AsSpan(4, 8).Fill(0xFF);
        File.WriteAllBytes(path, bytes);
        var corrupt = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAsync(path));
        Assert.StartsWith("Parquet file 'bad.parquet', column 'amount': ", corrupt.Message);
    }

    private static void WriteDuckDb(string path, string options, bool u32)
    {
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            COPY (SELECT i::INTEGER AS i32, CASE WHEN i % 9 = 0 THEN NULL ELSE i % 5 END::INTEGER AS lowcard,
                    CASE WHEN i % 7 = 0 THEN NULL ELSE i * 3 END::BIGINT AS i64n, (i * 0.5)::FLOAT AS f,
                    CASE WHEN i % 11 = 0 THEN NULL ELSE i / 3.0 END::DOUBLE AS dn, (i % 3 = 0) AS b,
                    CASE WHEN i % 4 = 0 THEN NULL ELSE i % 2 = 0 END AS bn, (i % 100 - 50)::TINYINT AS i8,
                    (i % 30000)::SMALLINT AS i16, {(u32 ? "(4294967295 - i)::UINTEGER AS u32, " : "")}(i % 200)::UTINYINT AS u8,
                    (i % 60000)::USMALLINT AS u16, 'x' || (i % 10) AS s
                  FROM range(120000) r(i) ORDER BY i)
            TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 50000, {options})
            """;
        command.ExecuteNonQuery();
    }

    private static async Task<(IReadOnlyList<Column> Columns, List<ColumnGroup> Groups)> ReadAsync(string path)
    {
        await using var reader = new ParquetRowReader(path);
        await reader.OpenAsync(CancellationToken.None);
        var needed = Enumerable.Repeat(true, reader.Columns.Count).ToArray();
        var groups = new List<ColumnGroup>();
        await foreach (var group in reader.ReadAsync(needed, (_, _) => true, CancellationToken.None))
        {
            groups.Add(group);
        }

        return (reader.Columns, groups);
    }

    /// <summary>The same columns read through Parquet.Net, widened as the job's kinds hold them.</summary>
    private static async Task<List<ColumnGroup>> ReferenceAsync(string path, IReadOnlyList<Column> columns)
    {
        await using var reader = await ParquetReader.CreateAsync(path);
        var fields = reader.Schema.GetDataFields();
        var groups = new List<ColumnGroup>();
        long start = 0;
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var rows = checked((int)group.RowCount);
            var read = new ColumnData?[columns.Count];
            for (var c = 0; c < columns.Count; c++)
            {
                var data = await ReadFieldAsync(group, fields.Single(f => f.Name == columns[c].Name), rows);
                var kind = columns[c].Kind;
                var anyNull = data.Any(v => v is null);
                var column = ColumnData.Rent(kind, rows, anyNull);
                for (var r = 0; r < rows; r++)
                {
                    var value = data[r];
                    if (value is null && column.Nulls is { } nulls)
                    {
                        nulls[r] = true;
                    }

                    switch (column.Values)
                    {
                        case long[] longs:
                            longs[r] = value is null ? 0 : Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
                            break;
                        case double[] doubles:
                            doubles[r] = value switch { null => 0, float f => f, _ => (double)value };
                            break;
                        case bool[] bools:
                            bools[r] = value is true;
                            break;
                        default:
                            column.Values.SetValue(value, r);
                            break;
                    }
                }

                read[c] = column;
            }

            groups.Add(new ColumnGroup(start, rows, read));
            start += rows;
        }

        return groups;
    }

    /// <summary>One column of a row group through Parquet.Net: each row's value boxed as its CLR type, null for a null.</summary>
    private static async Task<object?[]> ReadFieldAsync(ParquetRowGroupReader group, DataField field, int rows)
    {
        if (field.ClrType == typeof(string) || field.ClrType == typeof(ReadOnlyMemory<char>))
        {
            var strings = new string?[rows];
            await group.ReadAsync(field, strings.AsMemory(), null, CancellationToken.None);
            return strings;
        }

        if (field.ClrType == typeof(byte[]) || field.ClrType == typeof(ReadOnlyMemory<byte>))
        {
            var bytes = new byte[]?[rows];
            await group.ReadAsync(field, bytes.AsMemory(), null, CancellationToken.None);
            return bytes;
        }

        var read = typeof(ParquetReaderTests).GetMethod(nameof(ReadValuesAsync), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.MakeGenericMethod(field.ClrType);
        return await (Task<object?[]>)read.Invoke(null, [group, field, rows])!;
    }

    private static async Task<object?[]> ReadValuesAsync<T>(ParquetRowGroupReader group, DataField field, int rows)
        where T : unmanaged
    {
        var values = new T[rows];
        var levels = new int[rows];
        await group.ReadRawAsync(field, values.AsMemory(), field.MaxDefinitionLevel > 0 ? levels.AsMemory() : (Memory<int>?)null, null, CancellationToken.None);
        var boxed = new object?[rows];
        var v = 0;
        for (var r = 0; r < rows; r++)
        {
            boxed[r] = field.MaxDefinitionLevel > 0 && levels[r] == 0 ? null : values[v++];
        }

        return boxed;
    }

    /// <summary>Same kinds, same values by row (doubles bit for bit), and a null mask exactly where a row is null.</summary>
    private static void AssertSameColumns(IReadOnlyList<Column> columns, List<ColumnGroup> expected, List<ColumnGroup> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var g = 0; g < expected.Count; g++)
        {
            var rows = expected[g].Rows;
            Assert.Equal(rows, actual[g].Rows);
            for (var c = 0; c < columns.Count; c++)
            {
                var e = expected[g].Columns[c]!;
                var a = actual[g].Columns[c]!;
                var where = $"column '{columns[c].Name}', row group {g}";
                Assert.True(e.Kind == a.Kind, where);
                Assert.True(e.Nulls is null == a.Nulls is null, $"{where}: null mask {e.Nulls is not null} / {a.Nulls is not null}");
                if (e.Nulls is not null)
                {
                    AssertSameRows(e.Nulls, a.Nulls!, rows, where + " null mask");
                }

                switch (e.Values)
                {
                    case long[] longs:
                        AssertSameRows(longs, (long[])a.Values, rows, where);
                        break;
                    case double[] doubles:
                        AssertSameRows(Bits(doubles, rows), Bits((double[])a.Values, rows), rows, where);
                        break;
                    case bool[] bools:
                        AssertSameRows(bools, (bool[])a.Values, rows, where);
                        break;
                    case string?[] strings:
                        AssertSameRows(strings, (string?[])a.Values, rows, where);
                        break;
                    default:
                        Assert.Fail($"{where}: {e.Values.GetType()}");
                        break;
                }
            }
        }
    }

    private static void AssertSameRows<T>(T[] expected, T[] actual, int rows, string where)
    {
        for (var r = 0; r < rows; r++)
        {
            Assert.True(EqualityComparer<T>.Default.Equals(expected[r], actual[r]), $"{where}, row {r}: {expected[r]} (Parquet.Net) against {actual[r]}");
        }
    }

    private static long[] Bits(double[] values, int rows) => [.. values.Take(rows).Select(BitConverter.DoubleToInt64Bits)];

    private static ColumnData ColumnOf(ColumnGroup group, IReadOnlyList<Column> columns, string name) =>
        group.Columns[columns.Select(c => c.Name).ToList().IndexOf(name)]!;

    private static long[] Longs(ColumnGroup group, IReadOnlyList<Column> columns, string name) => (long[])ColumnOf(group, columns, name).Values;

    private static void Release(params List<ColumnGroup>[] reads)
    {
        foreach (var groups in reads)
        {
            foreach (var group in groups)
            {
                group.Release();
            }
        }
    }
}
