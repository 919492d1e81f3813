using System.Globalization;
using Parquet;
using Parquet.Schema;
using Pronto.Testing;
using static Pronto.Batch.Tests.BatchTestData;

namespace Pronto.Batch.Tests;

/// <summary>The columnar fast path (Parquet in and out, a fields model) writes what the row path writes.</summary>
[Collection(BundledCollection.Name)]
public sealed class ColumnarTests(BatchRepositoryFixture fixture)
{
    /// <summary>
    /// Fraud transactions with nullable columns of mixed types (string id, int64 hour, double and float
    /// features, with <paramref name="flag"/> a nullable bool column that is kept but not mapped) and bad rows:
    /// nulls, NaN and a double beyond FP32. Parquet.Net writes a nullable bool column's pages with bytes that vary
    /// from run to run (in the row path alike), so byte-for-byte comparisons leave the flag out.
    /// </summary>
    internal static async Task WriteMixedParquetAsync(string path, int count, int groupRows, bool flag = false)
    {
        var rows = Transactions(count, seed: 11);
        var id = new DataField<string>("id");
        var amount = new DataField<double?>("amount");
        var avg = new DataField<float>("customer_avg_amount");
        var category = new DataField<double?>("merchant_category");
        var hour = new DataField<long?>("hour");
        var distance = new DataField<double?>("distance_km");
        var last = new DataField<int>("txn_last_hour");
        var flagField = new DataField<bool?>("flag");
        Field[] fields = flag ? [id, amount, avg, category, hour, distance, last, flagField] : [id, amount, avg, category, hour, distance, last];
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream);
        for (var start = 0; start < count; start += groupRows)
        {
            var n = Math.Min(groupRows, count - start);
            var chunk = rows.AsSpan(start, n).ToArray();
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(id, chunk.Select((_, i) => "t" + (start + i).ToString(CultureInfo.InvariantCulture)).ToArray());
            await group.WriteAsync(amount, (ReadOnlyMemory<double?>)chunk.Select((t, i) => (start + i) switch
            {
                13 => null,
                29 => double.NaN,
                41 => 1e300,
                _ => (double?)t.Amount,
            }).ToArray());
            await group.WriteAsync(avg, (ReadOnlyMemory<float>)chunk.Select(t => t.CustomerAvgAmount).ToArray());
            await group.WriteAsync(category, (ReadOnlyMemory<double?>)chunk.Select(t => (double?)t.MerchantCategory).ToArray());
            await group.WriteAsync(hour, (ReadOnlyMemory<long?>)chunk.Select((t, i) => start + i == 77 ? null : (long?)t.Hour).ToArray());
            await group.WriteAsync(distance, (ReadOnlyMemory<double?>)chunk.Select(t => (double?)t.DistanceKm).ToArray());
            await group.WriteAsync(last, (ReadOnlyMemory<int>)chunk.Select(t => (int)t.TxnLastHour).ToArray());
            if (flag)
            {
                await group.WriteAsync(flagField, (ReadOnlyMemory<bool?>)chunk.Select((_, i) => (start + i) % 3 == 0 ? null : (bool?)((start + i) % 2 == 0)).ToArray());
            }
        }
    }

    private Task<BatchJobResult> RunAsync(string input, string output, bool columnar, int partRows = 1000, int batchSize = 0, int rowGroupRows = 65_536, IReadOnlyList<string>? keep = null, int runs = 1) =>
        BatchJob.RunAsync(fixture.Service, new BatchOptions
        {
            Model = "fraud",
            Input = input,
            Output = output,
            Columnar = columnar,
            PartRows = partRows,
            BatchSize = batchSize,
            RowGroupRows = rowGroupRows,
            KeepColumns = keep,
            ConcurrentRuns = runs,
        });

    [Theory]
    [InlineData(1000, 0, 65_536, 700)]
    [InlineData(333, 64, 100, 250)]
    [InlineData(100_000, 7, 65_536, 5000)]
    public async Task Columnar_and_row_paths_write_identical_files_and_errors(int partRows, int batchSize, int rowGroupRows, int inputGroupRows)
    {
        var dir = Temp();
        var input = Path.Combine(dir, "in.parquet");
        await WriteMixedParquetAsync(input, 3000, inputGroupRows);

        // Batches scored three at a time are written in input order: the same bytes as one at a time.
        var fast = await RunAsync(input, Path.Combine(dir, "fast.parquet"), columnar: true, partRows, batchSize, rowGroupRows, runs: 3);
        var slow = await RunAsync(input, Path.Combine(dir, "slow.parquet"), columnar: false, partRows, batchSize, rowGroupRows);
        Assert.True(fast.Columnar);
        Assert.False(slow.Columnar);
        Assert.Equal((slow.Rows, slow.Written, slow.Errors, slow.PartsWritten), (fast.Rows, fast.Written, fast.Errors, fast.PartsWritten));
        Assert.Equal(3000, fast.Rows);
        Assert.Equal(4, fast.Errors);
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "slow.parquet")), File.ReadAllBytes(Path.Combine(dir, "fast.parquet")));
        var errors = File.ReadAllText(Path.Combine(dir, "fast.parquet.errors.jsonl"));
        Assert.Equal(File.ReadAllText(Path.Combine(dir, "slow.parquet.errors.jsonl")), errors);
        Assert.Contains("\"row\":13,\"file\":\"in.parquet\",\"error\":\"column 'amount' is empty\"", errors);
        Assert.Contains("\"row\":29,\"file\":\"in.parquet\",\"error\":\"column 'amount': 'NaN' is not a finite FP32 number\"", errors);
        Assert.Contains("'1E+300' is not a finite FP32 number", errors);
        Assert.Contains("\"row\":77,\"file\":\"in.parquet\",\"error\":\"column 'hour' is empty\"", errors);

        var (columns, rows) = await ReadParquetAsync(Path.Combine(dir, "fast.parquet"));
        Assert.Equal(["id", .. Fields, "predicted_label", "predicted_probability"], columns.Select(c => c.Name));
        Assert.Equal(2996, rows.Count);
        Assert.Equal("t7", rows[7][0]);
    }

    [Fact]
    public async Task Kept_float_columns_stay_float_in_the_output_and_doubles_stay_double()
    {
        var dir = Temp();
        var input = Path.Combine(dir, "in.parquet");
        await WriteMixedParquetAsync(input, 600, 250);
        foreach (var columnar in new[] { true, false })
        {
            var output = Path.Combine(dir, $"out-{columnar}.parquet");
            var result = await RunAsync(input, output, columnar);
            Assert.Equal(columnar, result.Columnar);
            await using var stream = File.OpenRead(output);
            await using var reader = await ParquetReader.CreateAsync(stream);
            var types = reader.Schema.GetDataFields().ToDictionary(f => f.Path.ToString(), f => f.ClrType);
            Assert.Equal(typeof(float), types["customer_avg_amount"]); // FLOAT in the input
            Assert.Equal(typeof(double), types["amount"]); // DOUBLE in the input
            Assert.Equal(typeof(long), types["txn_last_hour"]); // INT32 in the input: integers are int64
            using var group = reader.OpenRowGroupReader(0);
            var avg = new float?[group.RowCount];
            await group.ReadAsync(reader.Schema.GetDataFields().First(f => f.Name == "customer_avg_amount"), avg.AsMemory(), null, CancellationToken.None);
            var written = Transactions(600, seed: 11);
            var errors = ReadJsonl(output + ".errors.jsonl").Select(e => e.GetProperty("row").GetInt64()).ToHashSet();
            var expected = written.Select((t, i) => (t, i)).Where(x => !errors.Contains(x.i)).Select(x => (float?)x.t.CustomerAvgAmount).Take(avg.Length);
            Assert.Equal(expected, avg);
        }
    }

    [Fact]
    public async Task A_kept_nullable_bool_column_reads_back_equal_row_for_row()
    {
        var dir = Temp();
        var input = Path.Combine(dir, "in.parquet");
        await WriteMixedParquetAsync(input, 1500, 400, flag: true);
        var fast = await RunAsync(input, Path.Combine(dir, "fast.parquet"), columnar: true, partRows: 500);
        var slow = await RunAsync(input, Path.Combine(dir, "slow.parquet"), columnar: false, partRows: 500);
        Assert.True(fast.Columnar);
        var (columns, fastRows) = await ReadParquetAsync(Path.Combine(dir, "fast.parquet"));
        var (_, slowRows) = await ReadParquetAsync(Path.Combine(dir, "slow.parquet"));
        Assert.Equal(["id", .. Fields, "flag", "predicted_label", "predicted_probability"], columns.Select(c => c.Name));
        Assert.Equal(1496, fastRows.Count);
        Assert.Equal(slowRows, fastRows);
        Assert.Null(fastRows[0][7]);
        Assert.Equal(false, fastRows[1][7]);
        Assert.Equal(File.ReadAllText(Path.Combine(dir, "slow.parquet.errors.jsonl")), File.ReadAllText(Path.Combine(dir, "fast.parquet.errors.jsonl")));
    }

    [Fact]
    public async Task Columnar_folder_output_with_chosen_columns_equals_the_row_path_part_for_part()
    {
        var dir = Temp();
        var input = Path.Combine(dir, "in.parquet");
        await WriteMixedParquetAsync(input, 2500, 600);

        var fast = await RunAsync(input, Path.Combine(dir, "fast"), columnar: true, partRows: 400, keep: ["hour", "id"]);
        var slow = await RunAsync(input, Path.Combine(dir, "slow"), columnar: false, partRows: 400, keep: ["hour", "id"], runs: 2);
        Assert.True(fast.Columnar);
        var names = Directory.GetFiles(Path.Combine(dir, "slow")).Select(Path.GetFileName).Where(n => !n!.StartsWith('_')).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(names, Directory.GetFiles(Path.Combine(dir, "fast")).Select(Path.GetFileName).Where(n => !n!.StartsWith('_')).Order(StringComparer.Ordinal));
        Assert.Equal(7 * 2 + 1, names.Count);
        foreach (var name in names)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "slow", name!)), File.ReadAllBytes(Path.Combine(dir, "fast", name!)));
        }
    }

    [Fact]
    public async Task Columnar_shards_sharing_a_folder_equal_the_row_path_whole_job()
    {
        var dir = Temp();
        var input = Path.Combine(dir, "in.parquet");
        await WriteMixedParquetAsync(input, 2200, 450);
        var whole = await RunAsync(input, Path.Combine(dir, "whole"), columnar: false, partRows: 300);
        Assert.False(whole.Columnar);
        for (var i = 0; i < 3; i++)
        {
            var shard = await BatchJob.RunAsync(fixture.Service, new BatchOptions
            {
                Model = "fraud",
                Input = input,
                Output = Path.Combine(dir, "sharded"),
                PartRows = 300,
                Shard = Shard.Parse($"{i}/3"),
            });
            Assert.True(shard.Columnar);
        }

        var parts = Directory.GetFiles(Path.Combine(dir, "whole"), "part-*").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(8 * 2, parts.Count);
        Assert.Equal(parts, Directory.GetFiles(Path.Combine(dir, "sharded"), "part-*").Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var name in parts)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "whole", name!)), File.ReadAllBytes(Path.Combine(dir, "sharded", name!)));
        }
    }

    [Fact]
    public async Task Csv_input_and_jsonl_output_keep_the_row_path()
    {
        var dir = Temp();
        WriteCsv(Path.Combine(dir, "in.csv"), Transactions(50));
        Assert.False((await RunAsync(Path.Combine(dir, "in.csv"), Path.Combine(dir, "a.parquet"), columnar: true)).Columnar);
        await WriteMixedParquetAsync(Path.Combine(dir, "in.parquet"), 50, 50);
        Assert.False((await RunAsync(Path.Combine(dir, "in.parquet"), Path.Combine(dir, "b.jsonl"), columnar: true)).Columnar);
    }
}
