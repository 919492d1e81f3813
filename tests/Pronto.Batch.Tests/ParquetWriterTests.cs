using System.Globalization;
using DuckDB.NET.Data;
using Parquet;
using Parquet.Schema;
using Pronto.Batch.Output;
using static Pronto.Batch.Tests.BatchTestData;

namespace Pronto.Batch.Tests;

/// <summary>
/// The batch Parquet writer (<see cref="ParquetPartWriter"/>, ParquetSharp) read back by Parquet.Net and by DuckDB: each
/// layout (dictionary labels, nulls or none, short and long lists), value for value.
/// </summary>
public sealed class ParquetWriterTests
{
    private static readonly Column[] Columns =
    [
        new("label", ColumnKind.String),
        new("n", ColumnKind.Int64),
        new("ok", ColumnKind.Bool),
        new("predicted_probability", ColumnKind.Float),
        new("predicted_embedding", ColumnKind.FloatList),
    ];

    /// <summary>
    /// Row <paramref name="i"/>: a label out of <paramref name="distinct"/> (null every 9th row when
    /// <paramref name="nulls"/>), an int64 and a bool (null every 7th / 5th row when <paramref name="nulls"/>), a
    /// float, and a list of <paramref name="per"/> floats.
    /// </summary>
    private static object?[] Row(int i, int distinct, bool nulls, int per) =>
    [
        nulls && i % 9 == 0 ? null : "label-" + (i % distinct).ToString(CultureInfo.InvariantCulture),
        nulls && i % 7 == 0 ? null : (long)i * -5,
        nulls && i % 5 == 0 ? null : i % 3 == 0,
        i / 7f,
        Enumerable.Range(0, per).Select(k => i + (k / 100f)).ToArray(),
    ];

    [Theory]
    [InlineData(3, true, 2, 500)] // labels: a dictionary page, nulls in every column, lists bit-packed
    [InlineData(5000, false, 1, 4000)] // many distinct strings (still under Arrow's 1 MB dictionary page); lists of one value
    [InlineData(40, true, 384, 700)] // embeddings: repetition levels as runs, row groups cut by the value limit
    public async Task Written_rows_read_back_value_for_value_in_two_readers(int distinct, bool nulls, int per, int rowGroupRows)
    {
        var path = Path.Combine(Temp(), "part.parquet");
        const int Count = 6000;
        await using (var writer = new ParquetPartWriter(File.Create(path), Columns, rowGroupRows))
        {
            // Batches of 777 rows: row groups are cut inside batches and batches end inside row groups.
            foreach (var rows in Enumerable.Range(0, Count).Select(i => Row(i, distinct, nulls, per)).Chunk(777))
            {
                await writer.WriteAsync(BatchTestData.Batch(Columns, rows), CancellationToken.None);
            }

            await writer.CompleteAsync(CancellationToken.None);
        }

        // Parquet.Net: the schema, the row groups and every value.
        await using (var stream = File.OpenRead(path))
        await using (var reader = await ParquetReader.CreateAsync(stream))
        {
            Assert.Equal(["label", "n", "ok", "predicted_probability", "predicted_embedding"], reader.Schema.Fields.Select(f => f.Name));
            Assert.Equal(Count, reader.Metadata!.NumRows);
            var fields = reader.Schema.GetDataFields();
            var start = 0;
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var rows = (int)group.RowCount;
                var labels = new string?[rows];
                var numbers = new long?[rows];
                var flags = new bool?[rows];
                var floats = new float[rows];
                await group.ReadAsync(fields[0], labels.AsMemory(), null, CancellationToken.None);
                await group.ReadAsync(fields[1], numbers.AsMemory(), null, CancellationToken.None);
                await group.ReadAsync(fields[2], flags.AsMemory(), null, CancellationToken.None);
                await group.ReadAsync(fields[3], floats.AsMemory(), null, CancellationToken.None);
                var values = new float[rows * per];
                var repetitions = new int[rows * per];
                await group.ReadRawAsync(fields[4], values.AsMemory(), new int[rows * per], repetitions.AsMemory(), CancellationToken.None);
                Assert.Equal(Enumerable.Range(0, rows * per).Select(v => v % per == 0 ? 0 : 1), repetitions);
                for (var r = 0; r < rows; r++)
                {
                    var expected = Row(start + r, distinct, nulls, per);
                    Assert.Equal(expected[0], labels[r]);
                    Assert.Equal(expected[1], numbers[r]);
                    Assert.Equal(expected[2], flags[r]);
                    Assert.Equal(expected[3], floats[r]);
                    Assert.Equal((float[])expected[4]!, values.AsSpan(r * per, per).ToArray());
                }

                start += rows;
            }

            Assert.Equal(Count, start);
            // A row group holds rowGroupRows rows, or 4M values over the row's columns and list (embeddings).
            Assert.Equal((Count + Math.Min(rowGroupRows, (int)Math.Ceiling((4 << 20) / (5.0 + per))) - 1) / Math.Min(rowGroupRows, (int)Math.Ceiling((4 << 20) / (5.0 + per))), reader.RowGroupCount);
        }

        // DuckDB, a reader that shares no code with the writer.
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*), count(label), count(DISTINCT label), sum(n)::BIGINT, count(ok), sum(ok::INT)::BIGINT, sum(len(predicted_embedding))::BIGINT, sum(predicted_embedding[{per}])::DOUBLE FROM read_parquet('{path}')";
        using var result = command.ExecuteReader();
        Assert.True(result.Read());
        var all = Enumerable.Range(0, Count).Select(i => Row(i, distinct, nulls, per)).ToList();
        Assert.Equal((long)Count, Convert.ToInt64(result.GetValue(0), CultureInfo.InvariantCulture));
        Assert.Equal(all.Count(r => r[0] is not null), Convert.ToInt64(result.GetValue(1), CultureInfo.InvariantCulture));
        Assert.Equal(all.Where(r => r[0] is not null).Select(r => r[0]).Distinct().Count(), Convert.ToInt64(result.GetValue(2), CultureInfo.InvariantCulture));
        Assert.Equal(all.Sum(r => (long?)r[1] ?? 0), Convert.ToInt64(result.GetValue(3), CultureInfo.InvariantCulture));
        Assert.Equal(all.Count(r => r[2] is not null), Convert.ToInt64(result.GetValue(4), CultureInfo.InvariantCulture));
        Assert.Equal(all.Count(r => r[2] is true), Convert.ToInt64(result.GetValue(5), CultureInfo.InvariantCulture));
        Assert.Equal((long)Count * per, Convert.ToInt64(result.GetValue(6), CultureInfo.InvariantCulture));
        Assert.Equal(all.Sum(r => (double)((float[])r[4]!)[per - 1]), result.GetDouble(7), 3);
        result.Close();

        // Labels are dictionary-encoded (string columns only), the numbers are not.
        command.CommandText = $"SELECT encodings FROM parquet_metadata('{path}') WHERE path_in_schema = 'label' AND row_group_id = 0";
        Assert.Equal("PLAIN, RLE, RLE_DICTIONARY", command.ExecuteScalar());
        command.CommandText = $"SELECT encodings FROM parquet_metadata('{path}') WHERE path_in_schema = 'n' AND row_group_id = 0";
        Assert.Equal("RLE, PLAIN", command.ExecuteScalar());
    }

    [Fact]
    public async Task A_part_with_no_rows_is_a_valid_empty_file()
    {
        var path = Path.Combine(Temp(), "empty.parquet");
        await using (var writer = new ParquetPartWriter(File.Create(path), Columns, 100))
        {
            await writer.CompleteAsync(CancellationToken.None);
        }

        await using var stream = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(stream);
        Assert.Equal(0, reader.RowGroupCount);
        Assert.Equal(5, reader.Schema.Fields.Count);
        Assert.IsType<ListField>(reader.Schema.Fields[4]);
    }

    [Fact]
    public async Task An_empty_list_is_refused()
    {
        await using var writer = new ParquetPartWriter(new MemoryStream(), Columns, 100);
        var error = await Assert.ThrowsAsync<InvalidDataException>(async () => await writer.WriteAsync(BatchTestData.Batch(Columns, [Row(0, 3, false, 0)]), CancellationToken.None));
        Assert.Equal("a list column needs at least one value a row", error.Message);
    }
}
