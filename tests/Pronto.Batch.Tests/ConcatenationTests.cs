using System.Globalization;
using DuckDB.NET.Data;
using Parquet;
using Parquet.Schema;
using Pronto.Batch.Output;
using Pronto.Batch.Scoring;
using static Pronto.Batch.Tests.BatchTestData;

namespace Pronto.Batch.Tests;

/// <summary>A file output's parts are concatenated by copying column chunks: the result reads back as the parts, in two readers.</summary>
public sealed class ConcatenationTests
{
    private static readonly Column[] Columns =
    [
        new("id", ColumnKind.String),
        new("n", ColumnKind.Int64),
        new("x", ColumnKind.Double),
        new("ok", ColumnKind.Bool),
        new("raw", ColumnKind.Binary),
        new("predicted_probability", ColumnKind.Float),
        new("predicted_probabilities", ColumnKind.FloatList),
    ];

    private static object?[] Row(int i) =>
    [
        i % 7 == 0 ? null : "r" + i.ToString(CultureInfo.InvariantCulture),
        i % 5 == 0 ? null : (long)i * 3,
        i % 11 == 0 ? null : i / 4.0,
        i % 3 == 0 ? null : i % 2 == 0,
        i % 13 == 0 ? null : new[] { (byte)i, (byte)(i >> 8) },
        i / 1000f,
        new[] { i / 10f, 1 - (i / 10f), i },
    ];

    /// <summary>Parts of uneven sizes, several row groups each, like the parts of one job.</summary>
    private static async Task<List<string>> WritePartsAsync(string dir, int[] sizes, int rowGroupRows)
    {
        var files = new List<string>();
        var row = 0;
        foreach (var size in sizes)
        {
            var path = Path.Combine(dir, $"part-{files.Count:D6}.parquet");
            await using (var writer = new ParquetPartWriter(File.Create(path), Columns, rowGroupRows))
            {
                var first = row;
                row += size;
                await writer.WriteAsync(BatchTestData.Batch(Columns, [.. Enumerable.Range(first, size).Select(Row)]), CancellationToken.None);

                await writer.CompleteAsync(CancellationToken.None);
            }

            files.Add(path);
        }

        return files;
    }

    [Fact]
    public async Task Concatenated_parts_read_back_as_the_parts_row_for_row()
    {
        var dir = Temp();
        var files = await WritePartsAsync(dir, [250, 1, 97, 400], rowGroupRows: 120);
        var merged = Path.Combine(dir, "merged.parquet");
        await using (var stream = File.Create(merged))
        {
            await ParquetConcatenation.ConcatenateAsync(files, stream, CancellationToken.None);
        }

        // Parquet.Net: the same rows, in the same row groups, in order.
        var (columns, rows) = await ReadParquetAsync(merged);
        Assert.Equal(["id", "n", "x", "ok", "raw", "predicted_probability"], columns.Select(c => c.Name));
        Assert.Equal(748, rows.Count);
        var expectedGroups = new List<long>();
        foreach (var file in files)
        {
            await using var part = File.OpenRead(file);
            await using var partReader = await ParquetReader.CreateAsync(part);
            for (var g = 0; g < partReader.RowGroupCount; g++)
            {
                using var group = partReader.OpenRowGroupReader(g);
                expectedGroups.Add(group.RowCount);
            }
        }

        await using (var stream = File.OpenRead(merged))
        await using (var reader = await ParquetReader.CreateAsync(stream))
        {
            Assert.Equal(748, reader.Metadata!.NumRows);
            var groups = new List<long>();
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                groups.Add(group.RowCount);
            }

            Assert.Equal(expectedGroups, groups);
        }

        for (var i = 0; i < rows.Count; i++)
        {
            var expected = Row(i);
            Assert.Equal(expected[0], rows[i][0]);
            Assert.Equal(expected[1], rows[i][1]);
            Assert.Equal(expected[2], rows[i][2]);
            Assert.Equal(expected[3], rows[i][3]);
            Assert.Equal(expected[4], rows[i][4]);
            Assert.Equal((double)(float)expected[5]!, rows[i][5]);
        }

        // DuckDB, a reader that shares no code with the writer, agrees, lists included.
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT count(*), sum(n)::BIGINT, count(id), sum(x), sum(list_sum(predicted_probabilities)), sum(len(predicted_probabilities))::BIGINT FROM read_parquet('{merged}')";
        using var result = command.ExecuteReader();
        Assert.True(result.Read());
        var all = Enumerable.Range(0, 748).Select(Row).ToList();
        Assert.Equal(748L, Convert.ToInt64(result.GetValue(0), CultureInfo.InvariantCulture));
        Assert.Equal(all.Sum(r => (long?)r[1] ?? 0), Convert.ToInt64(result.GetValue(1), CultureInfo.InvariantCulture));
        Assert.Equal(all.Count(r => r[0] is not null), Convert.ToInt64(result.GetValue(2), CultureInfo.InvariantCulture));
        Assert.Equal(all.Sum(r => (double?)r[2] ?? 0), result.GetDouble(3), 6);
        Assert.Equal(all.Sum(r => (double)((float[])r[6]!).Sum()), result.GetDouble(4), 1);
        Assert.Equal(748L * 3, Convert.ToInt64(result.GetValue(5), CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Parts_of_another_schema_are_refused()
    {
        var dir = Temp();
        var files = await WritePartsAsync(dir, [10], rowGroupRows: 120);
        var other = Path.Combine(dir, "other.parquet");
        var a = new DataField<int>("a");
        await using (var stream = File.Create(other))
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(a), stream))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(a, (ReadOnlyMemory<int>)new[] { 1, 2 });
        }

        await using var output = File.Create(Path.Combine(dir, "merged.parquet"));
        await Assert.ThrowsAsync<InvalidDataException>(() => ParquetConcatenation.ConcatenateAsync([files[0], other], output, CancellationToken.None));
    }
}
