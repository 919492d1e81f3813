using System.Buffers.Binary;
using DuckDB.NET.Data;
using Parquet;
using Parquet.Meta;
using Parquet.Schema;
using Pronto.Batch.Input;
using Pronto.Batch.Output;
using static Pronto.Batch.Tests.BatchTestData;
using PhysicalType = Parquet.Meta.Type;

namespace Pronto.Batch.Tests;

/// <summary>
/// The columnar fast path's own Parquet decoder (<see cref="ParquetColumnDecoder"/>) gives what Parquet.Net gives,
/// value for value and null for null, and leaves to Parquet.Net what it does not handle.
/// </summary>
public sealed class ParquetDecoderTests
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

    /// <summary>
    /// Snappy and uncompressed chunks are decoded here (all but the string column), gzip and zstd ones fall back to
    /// Parquet.Net: either way the same columns as Parquet.Net's path, and the values written.
    /// </summary>
    [Theory]
    [InlineData(CompressionMethod.Snappy, true)]
    [InlineData(CompressionMethod.None, true)]
    [InlineData(CompressionMethod.Gzip, false)]
    [InlineData(CompressionMethod.Zstd, false)]
    public async Task Parquet_net_files_read_as_parquet_net_reads_them(CompressionMethod compression, bool decodedHere)
    {
        var path = Path.Combine(Temp(), "kinds.parquet");
        await WriteKindsAsync(path, compression);
        var (columns, expected, viaParquetNet) = await ReadAsync(path, decodePages: false);
        var (_, actual, decoded) = await ReadAsync(path, decodePages: true);
        Assert.Equal(0, viaParquetNet);
        Assert.Equal(decodedHere ? (columns.Count - 1) * GroupSizes.Length : 0, decoded);
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
        Release(expected, actual);
    }

    /// <summary>
    /// DuckDB writes v1 pages (one per chunk), a dictionary page before them for columns of few values
    /// (PLAIN_DICTIONARY), and every column as OPTIONAL: all of it decoded here, compressed or not.
    /// </summary>
    [Theory]
    [InlineData("snappy")]
    [InlineData("uncompressed")]
    public async Task DuckDB_files_with_dictionary_pages_decode_as_parquet_net_reads_them(string compression)
    {
        var path = Path.Combine(Temp(), "duck.parquet");
        WriteDuckDb(path, $"COMPRESSION {compression}");
        Assert.Equal(2, await PageCountAsync(path, "lowcard"));

        var (columns, expected, _) = await ReadAsync(path, decodePages: false);
        var (_, actual, decoded) = await ReadAsync(path, decodePages: true);
        Assert.True(actual.Count > 1);
        Assert.Equal((columns.Count - 1) * actual.Count, decoded);
        AssertSameColumns(columns, expected, actual);
        var second = actual[1];
        Assert.Equal(uint.MaxValue - second.Start, Longs(second, columns, "u32")[0]);
        var lowcard = ColumnOf(second, columns, "lowcard");
        var firstNull = (int)((9 - (second.Start % 9)) % 9);
        Assert.Equal([true, false], lowcard.Nulls.AsSpan(firstNull, 2).ToArray());
        Assert.Equal((second.Start + firstNull + 1) % 5, ((long[])lowcard.Values)[firstNull + 1]);
        Release(expected, actual);
    }

    /// <summary>
    /// DuckDB's PARQUET_VERSION V2: DATA_PAGE_V2 pages (levels outside the compressed values), RLE_DICTIONARY, and
    /// for other columns encodings left to Parquet.Net (DELTA_BINARY_PACKED, BYTE_STREAM_SPLIT): both agree.
    /// </summary>
    [Fact]
    public async Task DuckDB_v2_pages_decode_and_their_other_encodings_fall_back()
    {
        var path = Path.Combine(Temp(), "duck-v2.parquet");
        WriteDuckDb(path, "COMPRESSION snappy, PARQUET_VERSION V2");
        var (columns, expected, _) = await ReadAsync(path, decodePages: false);
        var (_, actual, decoded) = await ReadAsync(path, decodePages: true);
        Assert.InRange(decoded, actual.Count, ((columns.Count - 1) * actual.Count) - 1);
        AssertSameColumns(columns, expected, actual);
        Release(expected, actual);
    }

    /// <summary>
    /// Layouts neither Parquet.Net nor DuckDB writes, written page by page: several pages per chunk, v1 and v2 pages
    /// in one chunk, dictionary pages then PLAIN pages, nulls on both sides of page boundaries, bit-packed and RLE
    /// definition levels: each row decodes to what was written, and to what Parquet.Net reads.
    /// </summary>
    [Fact]
    public async Task Chunks_of_many_pages_mixing_v1_v2_and_dictionary_decode_to_the_values_written()
    {
        HandWrittenParquet.Column[] columns =
        [
            new("i32", PhysicalType.INT32, false), new("i32n", PhysicalType.INT32, true),
            new("u32", PhysicalType.INT32, true, ConvertedType.UINT_32), new("i8", PhysicalType.INT32, false, ConvertedType.INT_8),
            new("i64n", PhysicalType.INT64, true), new("f", PhysicalType.FLOAT, true), new("dn", PhysicalType.DOUBLE, true),
            new("b", PhysicalType.BOOLEAN, false), new("bn", PhysicalType.BOOLEAN, true),
        ];
        var (names, expected, actual) = await DecodeHandWrittenAsync(columns,
        [
            (true, [new(7, Dictionary: true), new(5, V2: true, Dictionary: true), new(8), new(9, V2: true)]),
            (false, [new(300, V2: true), new(700)]),
            (true, [new(37, Dictionary: true)]),
        ]);
        AssertSameColumns(names, expected, actual);
        Release(expected, actual);
    }

    /// <summary>
    /// RLE booleans (as parquet-mr's v2 writer stores them: a 4-byte length, then the hybrid runs) decode to the
    /// values written. Parquet.Net 6.1 misreads them, so here the columnar path is right where the row path is not.
    /// </summary>
    [Fact]
    public async Task Rle_booleans_decode_to_the_values_written()
    {
        HandWrittenParquet.Column[] columns = [new("b", PhysicalType.BOOLEAN, false), new("bn", PhysicalType.BOOLEAN, true)];
        var (_, expected, actual) = await DecodeHandWrittenAsync(columns,
        [
            (true, [new(20, V2: true, RleBooleans: true), new(13, RleBooleans: true), new(6)]),
        ]);
        Release(expected, actual);
    }

    /// <summary>
    /// Writes <paramref name="columns"/> in row groups laid out as <paramref name="layouts"/> (values drawn at
    /// random), reads them through both paths, and checks that this decoder decoded every chunk to the values written.
    /// </summary>
    private static async Task<(IReadOnlyList<Column> Names, List<ColumnGroup> ParquetNet, List<ColumnGroup> Decoded)> DecodeHandWrittenAsync(
        HandWrittenParquet.Column[] columns, (bool Snappy, HandWrittenParquet.Page[] Pages)[] layouts)
    {
        var file = new HandWrittenParquet(columns);
        var random = new Random(5);
        var written = new List<object?[][]>();
        foreach (var (snappy, pages) in layouts)
        {
            var rows = pages.Sum(p => p.Values);
            object?[][] values = [.. columns.Select(c => Enumerable.Range(0, rows).Select(_ => Value(c, random)).ToArray())];
            file.AddRowGroup(snappy, pages, values);
            written.Add(values);
        }

        var path = Path.Combine(Temp(), "pages.parquet");
        await File.WriteAllBytesAsync(path, file.ToArray());
        var (names, expected, _) = await ReadAsync(path, decodePages: false);
        var (_, actual, decoded) = await ReadAsync(path, decodePages: true);
        Assert.Equal(columns.Length * layouts.Length, decoded);
        for (var g = 0; g < layouts.Length; g++)
        {
            Assert.Equal(written[g][0].Length, actual[g].Rows);
            for (var c = 0; c < columns.Length; c++)
            {
                var column = actual[g].Columns[c]!;
                for (var r = 0; r < actual[g].Rows; r++)
                {
                    var value = written[g][c][r];
                    Assert.True(value is null == column.IsNull(r), $"{columns[c].Name} row {r} of group {g}");
                    Assert.Equal(value is null ? Default(column) : Widened(value, columns[c]), column.Values.GetValue(r));
                }
            }
        }

        // The row path reads the same chunks through the same decoder: its boxed rows are the columnar values.
        await using var rowReader = new ParquetRowReader(path, 1 << 16);
        await rowReader.OpenAsync(CancellationToken.None);
        var rowIndex = 0;
        var group = 0;
        await foreach (var (row, _) in rowReader.ReadAsync(CancellationToken.None))
        {
            if (rowIndex == actual[group].Rows)
            {
                (group, rowIndex) = (group + 1, 0);
            }

            for (var c = 0; c < columns.Length; c++)
            {
                Assert.Equal(actual[group].Columns[c]!.Box(rowIndex), row![c]);
            }

            rowIndex++;
        }

        Assert.Equal((layouts.Length - 1, actual[^1].Rows), (group, rowIndex));
        return (names, expected, actual);
    }

    /// <summary>A value of the column's type, or null for a quarter of an optional column's rows; few distinct, so dictionaries repeat entries.</summary>
    private static object? Value(HandWrittenParquet.Column column, Random random)
    {
        if (column.Optional && random.Next(4) == 0)
        {
            return null;
        }

        var n = random.Next(-3, 12);
        return column.Type switch
        {
            PhysicalType.INT32 when column.Converted == ConvertedType.UINT_32 => (int)(uint.MaxValue - (uint)n - 3),
            PhysicalType.INT32 when column.Converted == ConvertedType.INT_8 => n * 10,
            PhysicalType.INT32 => n * 1000,
            PhysicalType.INT64 => (long)n << 40,
            PhysicalType.FLOAT => n == 0 ? float.NaN : n / 4f,
            PhysicalType.DOUBLE => n / 3.0,
            _ => n % 2 == 0,
        };
    }

    /// <summary>What the job's column holds for a stored value: INT32 through its converted type, FLOAT as double.</summary>
    private static object Widened(object value, HandWrittenParquet.Column column) => value switch
    {
        int i when column.Converted == ConvertedType.UINT_32 => (long)(uint)i,
        int i when column.Converted == ConvertedType.INT_8 => (long)(sbyte)i,
        int i => (long)i,
        float f => (double)f,
        _ => value,
    };

    private static object Default(ColumnData column) => column.Kind switch
    {
        ColumnKind.Int64 => 0L,
        ColumnKind.Double => 0.0,
        _ => false,
    };

    [Fact]
    public async Task A_corrupt_page_is_invalid_data_naming_the_column()
    {
        var path = Path.Combine(Temp(), "bad.parquet");
        var field = new DataField<double?>("amount");
        await using (var stream = File.Create(path))
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(field), stream, new ParquetOptions { CompressionMethod = CompressionMethod.None }))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(field, (ReadOnlyMemory<double?>)new double?[] { 1, null, 3 });
        }

        // The v1 page's definition levels length (the 4 bytes after the page header) made larger than the page.
        long offset;
        await using (var reader = await ParquetReader.CreateAsync(path))
        {
            offset = reader.Metadata!.RowGroups[0].Columns[0].MetaData!.DataPageOffset;
        }

        var bytes = File.ReadAllBytes(path);
        var header = new ThriftCompact(bytes.AsSpan((int)offset));
        header.ReadPageHeader();
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan((int)offset + header.Position), 1_000_000);
        File.WriteAllBytes(path, bytes);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ReadAsync(path, decodePages: true));
        Assert.Equal("Parquet column 'amount': a data page's definition levels claim 1000000 of its 26 bytes", error.Message);
    }

    [Fact]
    public void The_hybrid_decodes_rle_runs_and_bit_packed_groups_and_refuses_short_data()
    {
        // RLE: 5 x 3 (width 2, one byte); bit-packed: one group of 0..7 at width 3 (the format's own example).
        byte[] data = [5 << 1, 3, (1 << 1) | 1, 0x88, 0xC6, 0xFA];
        var values = new int[13];
        RleBitPackedHybrid.Decode(data, 3, values);
        Assert.Equal([3, 3, 3, 3, 3, 0, 1, 2, 3, 4, 5, 6, 7], values);

        // The last group's padding may be left out: 3 values of 3 bits need 2 of its 3 bytes.
        var three = new byte[3];
        RleBitPackedHybrid.Decode([(1 << 1) | 1, 0x88, 0xC6], 3, three.AsSpan());
        Assert.Equal([0, 1, 2], three);

        Assert.Throws<InvalidDataException>(() => RleBitPackedHybrid.Decode([(1 << 1) | 1, 0x88], 3, new int[8]));
        Assert.Throws<InvalidDataException>(() => RleBitPackedHybrid.Decode([10 << 1, 2], 1, new byte[10]));
        Assert.Throws<InvalidDataException>(() => RleBitPackedHybrid.Decode([10 << 1], 1, new byte[10]));
    }

    /// <summary>
    /// 120,000 rows in row groups of 50,000, every column OPTIONAL: nulls in some, a column of 5 values with nulls
    /// (dictionary-encoded), small and unsigned integer types, and a string column.
    /// </summary>
    private static void WriteDuckDb(string path, string options)
    {
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            COPY (SELECT i::INTEGER AS i32, CASE WHEN i % 9 = 0 THEN NULL ELSE i % 5 END::INTEGER AS lowcard,
                    CASE WHEN i % 7 = 0 THEN NULL ELSE i * 3 END::BIGINT AS i64n, (i * 0.5)::FLOAT AS f,
                    CASE WHEN i % 11 = 0 THEN NULL ELSE i / 3.0 END::DOUBLE AS dn, (i % 3 = 0) AS b,
                    CASE WHEN i % 4 = 0 THEN NULL ELSE i % 2 = 0 END AS bn, (i % 100 - 50)::TINYINT AS i8,
                    (i % 30000)::SMALLINT AS i16, (4294967295 - i)::UINTEGER AS u32, (i % 200)::UTINYINT AS u8,
                    (i % 60000)::USMALLINT AS u16, 'x' || (i % 10) AS s
                  FROM range(120000) r(i) ORDER BY i)
            TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 50000, {options})
            """;
        command.ExecuteNonQuery();
    }

    /// <summary>Pages (dictionary page included) of a column's chunk in the first row group.</summary>
    private static async Task<int> PageCountAsync(string path, string column)
    {
        var bytes = await File.ReadAllBytesAsync(path);
        await using var reader = await ParquetReader.CreateAsync(path);
        var meta = reader.Metadata!.RowGroups[0].Columns.Single(c => c.MetaData!.PathInSchema[0] == column).MetaData!;
        var at = ParquetColumnDecoder.StartOf(meta);
        var end = at + meta.TotalCompressedSize;
        var pages = 0;
        while (at < end)
        {
            var thrift = new ThriftCompact(bytes.AsSpan((int)at));
            var header = thrift.ReadPageHeader();
            at += thrift.Position + header.CompressedSize;
            pages++;
        }

        return pages;
    }

    private static async Task<(IReadOnlyList<Column> Columns, List<ColumnGroup> Groups, int Decoded)> ReadAsync(string path, bool decodePages)
    {
        await using var reader = new ParquetRowReader(path, 1 << 16, decodePages);
        await reader.OpenAsync(CancellationToken.None);
        var needed = Enumerable.Repeat(true, reader.Columns.Count).ToArray();
        var groups = new List<ColumnGroup>();
        await foreach (var group in reader.ReadColumnsAsync(needed, (_, _) => true, CancellationToken.None))
        {
            groups.Add(group);
        }

        return (reader.Columns, groups, reader.DecodedChunks);
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
