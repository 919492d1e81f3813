using System.Globalization;
using Parquet;
using Parquet.Schema;
using Pronto.Testing;
using static Pronto.Batch.Tests.BatchTestData;

namespace Pronto.Batch.Tests;

/// <summary>
/// The one pipeline: its output does not depend on how the input is grouped or how many batches are scored at once,
/// and the same table read from CSV, JSONL or Parquet scores alike.
/// </summary>
[Collection(BundledCollection.Name)]
public sealed class PipelineTests(BatchRepositoryFixture fixture)
{
    /// <summary>
    /// Fraud transactions with nullable columns of mixed types (string id, int64 hour, double and float
    /// features, with <paramref name="flag"/> a nullable bool column that is kept but not mapped) and bad rows:
    /// nulls, NaN and a double beyond FP32. Parquet.Net writes a nullable bool column's pages with bytes that vary
    /// from run to run, so byte-for-byte comparisons leave the flag out.
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

    private Task<BatchJobResult> RunAsync(string input, string output, int partRows = 1000, int batchSize = 0, int rowGroupRows = 65_536, IReadOnlyList<string>? keep = null, int runs = 1) =>
        BatchJob.RunAsync(fixture.Service, new BatchOptions
        {
            Model = "fraud",
            Input = input,
            Output = output,
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
    public async Task Output_bytes_do_not_depend_on_input_grouping_or_concurrent_batches(int partRows, int batchSize, int rowGroupRows, int inputGroupRows)
    {
        var dir = Temp();
        var grouped = Path.Combine(dir, "in.parquet");
        await WriteMixedParquetAsync(grouped, 3000, inputGroupRows);
        var whole = Path.Combine(dir, "whole", "in.parquet");
        Directory.CreateDirectory(Path.GetDirectoryName(whole)!);
        await WriteMixedParquetAsync(whole, 3000, 3000);

        // Batches scored three at a time, cut across input groups, against one at a time from one group.
        var a = await RunAsync(grouped, Path.Combine(dir, "a.parquet"), partRows, batchSize, rowGroupRows, runs: 3);
        var b = await RunAsync(whole, Path.Combine(dir, "b.parquet"), partRows, batchSize, rowGroupRows);
        Assert.Equal((b.Rows, b.Written, b.Errors, b.PartsWritten), (a.Rows, a.Written, a.Errors, a.PartsWritten));
        Assert.Equal(3000, a.Rows);
        Assert.Equal(4, a.Errors);
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "b.parquet")), File.ReadAllBytes(Path.Combine(dir, "a.parquet")));
        var errors = File.ReadAllText(Path.Combine(dir, "a.parquet.errors.jsonl"));
        Assert.Equal(File.ReadAllText(Path.Combine(dir, "b.parquet.errors.jsonl")), errors);
        Assert.Contains("\"row\":13,\"file\":\"in.parquet\",\"error\":\"column 'amount' is empty\"", errors);
        Assert.Contains("\"row\":29,\"file\":\"in.parquet\",\"error\":\"column 'amount': 'NaN' is not a finite FP32 number\"", errors);
        Assert.Contains("'1E+300' is not a finite FP32 number", errors);
        Assert.Contains("\"row\":77,\"file\":\"in.parquet\",\"error\":\"column 'hour' is empty\"", errors);

        var (columns, rows) = await ReadParquetAsync(Path.Combine(dir, "a.parquet"));
        Assert.Equal(["id", .. Fields, "predicted_label", "predicted_probability"], columns.Select(c => c.Name));
        Assert.Equal(2996, rows.Count);
        Assert.Equal("t7", rows[7][0]);
    }

    [Fact]
    public async Task One_table_read_from_csv_jsonl_and_parquet_scores_alike()
    {
        var dir = Temp();
        var parquet = Path.Combine(dir, "in.parquet");
        await WriteMixedParquetAsync(parquet, 900, 250);
        var (inputColumns, inputRows) = await ReadParquetAsync(parquet);
        var columns = inputColumns.Select(c => c with { Single = false }).ToList();
        await TableFile.WriteAsync(Path.Combine(dir, "in.csv"), columns, inputRows);
        await TableFile.WriteAsync(Path.Combine(dir, "in.jsonl"), columns, inputRows);

        var scored = new Dictionary<string, List<object?[]>>();
        foreach (var format in new[] { "parquet", "csv", "jsonl" })
        {
            var output = Path.Combine(dir, format + "-out.parquet");
            var result = await RunAsync(Path.Combine(dir, "in." + format), output, partRows: 400, batchSize: 50);
            Assert.Equal(900, result.Rows);
            var (outputColumns, rows) = await ReadParquetAsync(output);
            Assert.Equal(["predicted_label", "predicted_probability"], outputColumns.Skip(columns.Count).Select(c => c.Name));
            scored[format] = [.. rows.Select(r => new[] { r[0], r[^2], r[^1] })];
            var errors = ReadJsonl(output + ".errors.jsonl");
            // NaN has no JSON form: TableFile writes it as null, which the job reads as empty.
            Assert.Equal(format == "jsonl" ? "column 'amount' is empty" : "column 'amount': 'NaN' is not a finite FP32 number", errors.Single(e => e.GetProperty("row").GetInt64() == 29).GetProperty("error").GetString());
            Assert.Equal([13L, 29, 41, 77], errors.Select(e => e.GetProperty("row").GetInt64()));
            Assert.All(errors, e => Assert.Equal("in." + format, e.GetProperty("file").GetString()));
        }

        Assert.Equal(896, scored["parquet"].Count);
        Assert.Equal(scored["parquet"], scored["csv"]);
        Assert.Equal(scored["parquet"], scored["jsonl"]);
    }

    [Fact]
    public async Task A_jsonl_value_of_another_kind_than_the_first_line_s_is_that_row_s_error_or_its_text()
    {
        var dir = Temp();
        var input = Path.Combine(dir, "in.jsonl");
        string Line(object id, string amount) => $"{{\"id\":{id},\"amount\":{amount},\"customer_avg_amount\":50,\"merchant_category\":3,\"hour\":12,\"distance_km\":4,\"txn_last_hour\":1}}";
        File.WriteAllLines(input, [Line("\"a\"", "10"), Line(7, "\"abc\""), Line("true", "null"), Line("{\"x\":1}", "20")]);
        var result = await RunAsync(input, Path.Combine(dir, "out.jsonl"));
        Assert.Equal((4, 2, 2), (result.Rows, result.Written, result.Errors));
        Assert.Equal(
            ["column 'amount' holds a string where the first line has a number", "column 'amount' is empty"],
            ReadJsonl(Path.Combine(dir, "out.jsonl.errors.jsonl")).Select(e => e.GetProperty("error").GetString()));
        // A string column takes any JSON value as its text.
        Assert.Equal(["a", "{\"x\":1}"], ReadJsonl(Path.Combine(dir, "out.jsonl")).Select(r => r.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task Kept_float_columns_stay_float_in_the_output_and_doubles_stay_double()
    {
        var dir = Temp();
        var input = Path.Combine(dir, "in.parquet");
        await WriteMixedParquetAsync(input, 600, 250);
        var output = Path.Combine(dir, "out.parquet");
        await RunAsync(input, output);
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

    [Fact]
    public async Task A_kept_nullable_bool_column_reads_back_equal_row_for_row()
    {
        var dir = Temp();
        var input = Path.Combine(dir, "in.parquet");
        await WriteMixedParquetAsync(input, 1500, 400, flag: true);
        await RunAsync(input, Path.Combine(dir, "out.parquet"), partRows: 500);
        var (columns, rows) = await ReadParquetAsync(Path.Combine(dir, "out.parquet"));
        Assert.Equal(["id", .. Fields, "flag", "predicted_label", "predicted_probability"], columns.Select(c => c.Name));
        long[] bad = [13, 29, 41, 77];
        var expected = Enumerable.Range(0, 1500).Where(i => !bad.Contains(i)).Select(i => i % 3 == 0 ? null : (object)(i % 2 == 0));
        Assert.Equal(expected, rows.Select(r => r[7]));
        Assert.Equal([.. bad], ReadJsonl(Path.Combine(dir, "out.parquet.errors.jsonl")).Select(e => e.GetProperty("row").GetInt64()));
    }

    [Fact]
    public async Task Folder_output_with_chosen_columns_is_the_same_part_for_part_with_concurrent_batches()
    {
        var dir = Temp();
        var input = Path.Combine(dir, "in.parquet");
        await WriteMixedParquetAsync(input, 2500, 600);

        await RunAsync(input, Path.Combine(dir, "one"), partRows: 400, keep: ["hour", "id"]);
        await RunAsync(input, Path.Combine(dir, "two"), partRows: 400, keep: ["hour", "id"], runs: 2);
        var names = Directory.GetFiles(Path.Combine(dir, "one")).Select(Path.GetFileName).Where(n => !n!.StartsWith('_')).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(names, Directory.GetFiles(Path.Combine(dir, "two")).Select(Path.GetFileName).Where(n => !n!.StartsWith('_')).Order(StringComparer.Ordinal));
        Assert.Equal(7 * 2 + 1, names.Count);
        foreach (var name in names)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "one", name!)), File.ReadAllBytes(Path.Combine(dir, "two", name!)));
        }

        var (columns, _) = await ReadParquetAsync(Path.Combine(dir, "one", "part-000000.parquet"));
        Assert.Equal(["hour", "id", "predicted_label", "predicted_probability"], columns.Select(c => c.Name));
    }

    [Fact]
    public async Task Shards_sharing_a_folder_equal_the_whole_job()
    {
        var dir = Temp();
        var input = Path.Combine(dir, "in.parquet");
        await WriteMixedParquetAsync(input, 2200, 450);
        await RunAsync(input, Path.Combine(dir, "whole"), partRows: 300);
        for (var i = 0; i < 3; i++)
        {
            await BatchJob.RunAsync(fixture.Service, new BatchOptions
            {
                Model = "fraud",
                Input = input,
                Output = Path.Combine(dir, "sharded"),
                PartRows = 300,
                Shard = Shard.Parse($"{i}/3"),
            });
        }

        var parts = Directory.GetFiles(Path.Combine(dir, "whole"), "part-*").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(8 * 2, parts.Count);
        Assert.Equal(parts, Directory.GetFiles(Path.Combine(dir, "sharded"), "part-*").Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var name in parts)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "whole", name!)), File.ReadAllBytes(Path.Combine(dir, "sharded", name!)));
        }
    }
}
