using System.Globalization;
using System.Text;
using Pronto.Batch.Input;
using Pronto.Cli;
using Pronto.Core.Inference;
using Pronto.Testing;
using static Pronto.Batch.Tests.BatchTestData;

namespace Pronto.Batch.Tests;

[Collection(BundledCollection.Name)]
public sealed class FormatTests(BatchRepositoryFixture fixture)
{
    [Fact]
    public async Task Csv_in_jsonl_out_scores_every_row_and_lists_bad_rows_with_their_numbers()
    {
        var dir = Temp();
        var rows = Transactions(500);
        WriteCsv(Path.Combine(dir, "in.csv"), rows);
        // Row 3: not a number; row 10: empty; row 20: a field short; row 30: NaN.
        var lines = File.ReadAllLines(Path.Combine(dir, "in.csv"));
        lines[4] = "t3,abc," + string.Join(",", lines[4].Split(',')[2..]);
        lines[11] = "t10,," + string.Join(",", lines[11].Split(',')[2..]);
        lines[21] = string.Join(",", lines[21].Split(',')[..6]);
        lines[31] = "t30,NaN," + string.Join(",", lines[31].Split(',')[2..]);
        File.WriteAllLines(Path.Combine(dir, "in.csv"), lines);

        var (code, output, error) = await CliAsync(fixture, "batch", "fraud", "--input", Path.Combine(dir, "in.csv"), "--output", Path.Combine(dir, "out.jsonl"), "--part-rows", "128");
        Assert.True(code == 0, error);
        Assert.Contains("rows 500 (job total 500), written 496, errors 4", output);

        var expected = Expected(fixture, rows);
        var scored = ReadJsonl(Path.Combine(dir, "out.jsonl"));
        int[] bad = [3, 10, 20, 30];
        var good = Enumerable.Range(0, 500).Where(i => !bad.Contains(i)).ToArray();
        Assert.Equal(good.Length, scored.Count);
        for (var k = 0; k < good.Length; k++)
        {
            var i = good[k];
            var row = scored[k];
            Assert.Equal("t" + i.ToString(CultureInfo.InvariantCulture), row.GetProperty("id").GetString());
            Assert.Equal(F(rows[i].Amount), row.GetProperty("amount").GetString());
            var p = expected[i];
            var label = p[1] > p[0] ? "fraud" : "legit";
            Assert.Equal(label, row.GetProperty("predicted_label").GetString());
            Assert.Equal(Math.Max(p[0], p[1]), row.GetProperty("predicted_probability").GetSingle());
            Assert.Equal(p, row.GetProperty("predicted_probabilities").EnumerateArray().Select(e => e.GetSingle()).ToArray());
        }

        Assert.Equal(
            [
                """{"row":3,"file":"in.csv","error":"column 'amount': 'abc' is not a number"}""",
                """{"row":10,"file":"in.csv","error":"column 'amount' is empty"}""",
                """{"row":20,"file":"in.csv","error":"has 6 fields, the header has 7"}""",
                """{"row":30,"file":"in.csv","error":"column 'amount': 'NaN' is not a finite FP32 number"}""",
            ],
            File.ReadAllLines(Path.Combine(dir, "out.jsonl.errors.jsonl")));
        Assert.False(Directory.Exists(Path.Combine(dir, "out.jsonl.parts")));
    }

    [Fact]
    public async Task Jsonl_in_parquet_out_with_a_column_map_and_chosen_columns()
    {
        var dir = Temp();
        var rows = Transactions(300, seed: 11);
        var text = new StringBuilder();
        for (var i = 0; i < rows.Length; i++)
        {
            var t = rows[i];
            text.Append(i == 7
                ? "{not json\n"
                : string.Create(CultureInfo.InvariantCulture, $$"""{"id":"t{{i}}","amt":{{F(t.Amount)}},"customer_avg_amount":{{F(t.CustomerAvgAmount)}},"merchant_category":{{F(t.MerchantCategory)}},"hour":{{F(t.Hour)}},"distance_km":{{F(t.DistanceKm)}},"txn_last_hour":{{F(t.TxnLastHour)}},"note":"n{{i}}"}""") + "\n");
        }

        File.WriteAllText(Path.Combine(dir, "in.jsonl"), text.ToString());
        File.WriteAllText(Path.Combine(dir, "map.json"), """{"amount":"amt"}""");
        var (code, _, error) = await CliAsync(fixture, "batch", "fraud", "--input", Path.Combine(dir, "in.jsonl"), "--output", Path.Combine(dir, "out.parquet"),
            "--map", Path.Combine(dir, "map.json"), "--keep-columns", "id,note");
        Assert.True(code == 0, error);

        var (columns, scored) = await ReadParquetAsync(Path.Combine(dir, "out.parquet"));
        Assert.Equal(["id", "note", "predicted_label", "predicted_probability"], columns.Select(c => c.Name));
        var expected = Expected(fixture, rows);
        var good = Enumerable.Range(0, 300).Where(i => i != 7).ToArray();
        Assert.Equal(good.Length, scored.Count);
        for (var k = 0; k < good.Length; k++)
        {
            var i = good[k];
            Assert.Equal("t" + i.ToString(CultureInfo.InvariantCulture), scored[k][0]);
            Assert.Equal("n" + i.ToString(CultureInfo.InvariantCulture), scored[k][1]);
            Assert.Equal(expected[i][1] > expected[i][0] ? "fraud" : "legit", scored[k][2]);
            Assert.Equal((double)Math.Max(expected[i][0], expected[i][1]), scored[k][3]);
        }

        var errors = File.ReadAllLines(Path.Combine(dir, "out.parquet.errors.jsonl"));
        Assert.Single(errors);
        Assert.StartsWith("""{"row":7,"file":"in.jsonl","error":"malformed JSON: """, errors[0]);
    }

    [Fact]
    public async Task Parquet_in_parquet_and_jsonl_out_agree()
    {
        var dir = Temp();
        var rows = Transactions(2000, seed: 5);
        await WriteParquetAsync(Path.Combine(dir, "in.parquet"), rows);
        var (code, _, error) = await CliAsync(fixture, "batch", "fraud", "--input", Path.Combine(dir, "in.parquet"), "--output", Path.Combine(dir, "out.parquet"), "--part-rows", "512");
        Assert.True(code == 0, error);
        (code, _, error) = await CliAsync(fixture, "batch", "fraud", "--input", Path.Combine(dir, "in.parquet"), "--output", Path.Combine(dir, "out.jsonl"), "--keep-columns", "id,amount");
        Assert.True(code == 0, error);

        var (columns, parquet) = await ReadParquetAsync(Path.Combine(dir, "out.parquet"));
        Assert.Equal(["id", .. Fields, "predicted_label", "predicted_probability"], columns.Select(c => c.Name));
        var jsonl = ReadJsonl(Path.Combine(dir, "out.jsonl"));
        var expected = Expected(fixture, rows);
        Assert.Equal(2000, parquet.Count);
        Assert.Equal(2000, jsonl.Count);
        for (var i = 0; i < 2000; i++)
        {
            Assert.Equal((double)rows[i].Amount, parquet[i][1]);
            Assert.Equal((double)rows[i].Amount, jsonl[i].GetProperty("amount").GetDouble());
            Assert.Equal(parquet[i][0], jsonl[i].GetProperty("id").GetString());
            Assert.Equal(parquet[i][7], jsonl[i].GetProperty("predicted_label").GetString());
            Assert.Equal((double)Math.Max(expected[i][0], expected[i][1]), parquet[i][8]);
            Assert.Equal(Math.Max(expected[i][0], expected[i][1]), jsonl[i].GetProperty("predicted_probability").GetSingle());
        }

        Assert.Equal("", File.ReadAllText(Path.Combine(dir, "out.parquet.errors.jsonl")));
    }

    [Fact]
    public async Task Minilm_embeds_the_text_column_named_by_column()
    {
        var dir = Temp();
        string[] texts = ["the card was charged twice", "refund please", "", "how do I reset my password?", "café crème"];
        var text = new StringBuilder();
        for (var i = 0; i < texts.Length; i++)
        {
            text.Append(i == 3 ? """{"id":3,"body":null}""" : $$"""{"id":{{i}},"body":"{{texts[i]}}"}""").Append('\n');
        }

        File.WriteAllText(Path.Combine(dir, "tickets.jsonl"), text.ToString());
        var (code, _, error) = await CliAsync(fixture, "batch", "minilm", "--input", Path.Combine(dir, "tickets.jsonl"), "--output", Path.Combine(dir, "emb.jsonl"), "--column", "body");
        Assert.True(code == 0, error);

        var scored = ReadJsonl(Path.Combine(dir, "emb.jsonl"));
        Assert.Equal([0.0, 1, 2, 4], scored.Select(r => r.GetProperty("id").GetDouble()));
        var good = new[] { texts[0], texts[1], texts[2], texts[4] };
        var direct = fixture.Service.InferDirect(new InferenceRequest { ModelName = "minilm", Inputs = [new NamedTensor("text", Core.Tensors.Tensor.FromStrings(good))] }).Outputs[0].Tensor.Span<float>().ToArray();
        for (var k = 0; k < good.Length; k++)
        {
            var embedding = scored[k].GetProperty("predicted_embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            Assert.Equal(384, embedding.Length);
            Assert.Equal(direct.AsSpan(k * 384, 384).ToArray(), embedding);
        }

        Assert.Equal(["""{"row":3,"file":"tickets.jsonl","error":"column 'body' is empty"}"""], File.ReadAllLines(Path.Combine(dir, "emb.jsonl.errors.jsonl")));
    }

    [Fact]
    public async Task Resnet18_reads_image_paths_and_a_bad_image_costs_only_its_row()
    {
        var dir = Temp();
        File.WriteAllBytes(Path.Combine(dir, "a.png"), TestImages.Landscape(64, 48));
        File.WriteAllBytes(Path.Combine(dir, "b.png"), TestImages.Checkerboard(40, 40));
        File.WriteAllText(Path.Combine(dir, "broken.png"), "not an image");
        File.WriteAllText(Path.Combine(dir, "images.csv"), "name,path\na,a.png\nbroken,broken.png\nmissing,nowhere.png\nb,b.png\n");
        var (code, _, error) = await CliAsync(fixture, "batch", "resnet18", "--input", Path.Combine(dir, "images.csv"), "--output", Path.Combine(dir, "features.jsonl"), "--column", "path");
        Assert.True(code == 0, error);

        var scored = ReadJsonl(Path.Combine(dir, "features.jsonl"));
        Assert.Equal(["a", "b"], scored.Select(r => r.GetProperty("name").GetString()));
        var direct = fixture.Service.InferDirect(new InferenceRequest
        {
            ModelName = "resnet18",
            Inputs = [new NamedTensor("image", Core.Tensors.Tensor.FromStrings([File.ReadAllBytes(Path.Combine(dir, "b.png"))], 1))],
        }).Outputs[0].Tensor.Span<float>().ToArray();
        Assert.Equal(direct, scored[1].GetProperty("predicted_embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray());
        var errors = File.ReadAllLines(Path.Combine(dir, "features.jsonl.errors.jsonl"));
        Assert.Equal(2, errors.Length);
        Assert.StartsWith("""{"row":1,"file":"images.csv","error":"input 'image' element 0""", errors[0]);
        Assert.Equal("""{"row":2,"file":"images.csv","error":"image file 'nowhere.png' does not exist"}""", errors[1]);
    }

    [Fact]
    public async Task Max_error_rate_stops_the_job_with_exit_6()
    {
        var dir = Temp();
        var csv = new StringBuilder("id," + string.Join(",", Fields) + "\n");
        for (var i = 0; i < 200; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{i},{(i % 10 == 0 ? "x" : "10")},40,1,12,3,0\n");
        }

        File.WriteAllText(Path.Combine(dir, "in.csv"), csv.ToString());
        var (code, _, error) = await CliAsync(fixture, "batch", "fraud", "--input", Path.Combine(dir, "in.csv"), "--output", Path.Combine(dir, "out.jsonl"), "--max-error-rate", "0.05", "--part-rows", "50");
        Assert.Equal(ExitCodes.TooManyErrors, code);
        Assert.Contains("5 of 50 rows failed", error);
        Assert.False(File.Exists(Path.Combine(dir, "out.jsonl")));

        (code, _, error) = await CliAsync(fixture, "batch", "fraud", "--input", Path.Combine(dir, "in.csv"), "--output", Path.Combine(dir, "ok.jsonl"), "--max-error-rate", "0.1", "--part-rows", "50");
        Assert.True(code == 0, error);
        Assert.Equal(20, File.ReadAllLines(Path.Combine(dir, "ok.jsonl.errors.jsonl")).Length);
    }

    [Fact]
    public async Task An_unclosed_csv_quote_stops_the_job_naming_its_line()
    {
        var dir = Temp();
        WriteCsv(Path.Combine(dir, "in.csv"), Transactions(20));
        File.AppendAllText(Path.Combine(dir, "in.csv"), "20,\"10,40,1,12,3,0\n21,10,40,1,12,3,0\n");
        var (code, _, error) = await CliAsync(fixture, "batch", "fraud", "--input", Path.Combine(dir, "in.csv"), "--output", Path.Combine(dir, "out.jsonl"));
        Assert.Equal(ExitCodes.InvalidArgument, code);
        Assert.Contains("'in.csv' line 22: a quoted field opens on this line and is never closed before the end of the file", error);
        Assert.False(File.Exists(Path.Combine(dir, "out.jsonl")));
    }

    [Theory]
    [InlineData("zstd", "ZSTD")]
    [InlineData("none", "UNCOMPRESSED")]
    public async Task The_codec_option_writes_every_column_chunk_in_that_codec_with_the_same_rows(string codec, string stored)
    {
        var dir = Temp();
        await WriteParquetAsync(Path.Combine(dir, "in.parquet"), Transactions(1500, seed: 3));
        var (code, _, error) = await CliAsync(fixture, "batch", "fraud", "--input", Path.Combine(dir, "in.parquet"), "--output", Path.Combine(dir, "snappy.parquet"), "--part-rows", "512");
        Assert.True(code == 0, error);
        (code, _, error) = await CliAsync(fixture, "batch", "fraud", "--input", Path.Combine(dir, "in.parquet"), "--output", Path.Combine(dir, "other.parquet"), "--part-rows", "512", "--codec", codec);
        Assert.True(code == 0, error);

        using var connection = new DuckDB.NET.Data.DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT string_agg(DISTINCT compression, ',') FROM parquet_metadata('{Path.Combine(dir, "other.parquet")}')";
        Assert.Equal(stored, command.ExecuteScalar());
        command.CommandText = $"SELECT string_agg(DISTINCT compression, ',') FROM parquet_metadata('{Path.Combine(dir, "snappy.parquet")}')";
        Assert.Equal("SNAPPY", command.ExecuteScalar());
        var (_, snappy) = await ReadParquetAsync(Path.Combine(dir, "snappy.parquet"));
        var (_, other) = await ReadParquetAsync(Path.Combine(dir, "other.parquet"));
        Assert.Equal(1500, other.Count);
        Assert.Equal(snappy, other);

        var bad = await CliAsync(fixture, "batch", "fraud", "--input", Path.Combine(dir, "in.parquet"), "--output", Path.Combine(dir, "bad.parquet"), "--codec", "lz4");
        Assert.NotEqual(0, bad.Code);
        Assert.Contains("lz4", bad.Error);
        Assert.False(File.Exists(Path.Combine(dir, "bad.parquet")));
    }

    [Fact]
    public async Task An_existing_output_is_never_overwritten_without_resume()
    {
        var dir = Temp();
        WriteCsv(Path.Combine(dir, "in.csv"), Transactions(50));
        var first = await CliAsync(fixture, "batch", "fraud", "--input", Path.Combine(dir, "in.csv"), "--output", Path.Combine(dir, "out.jsonl"));
        Assert.Equal(0, first.Code);
        var before = File.ReadAllBytes(Path.Combine(dir, "out.jsonl"));
        var again = await CliAsync(fixture, "batch", "fraud", "--input", Path.Combine(dir, "in.csv"), "--output", Path.Combine(dir, "out.jsonl"));
        Assert.Equal(ExitCodes.InvalidArgument, again.Code);
        Assert.Contains("already exists; pass --resume", again.Error);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(dir, "out.jsonl")));

        var folder = await CliAsync(fixture, "batch", "fraud", "--input", Path.Combine(dir, "in.csv"), "--output", Path.Combine(dir, "parts"));
        Assert.Equal(0, folder.Code);
        var folderAgain = await CliAsync(fixture, "batch", "fraud", "--input", Path.Combine(dir, "in.csv"), "--output", Path.Combine(dir, "parts"));
        Assert.Equal(ExitCodes.InvalidArgument, folderAgain.Code);

        var resumed = await CliAsync(fixture, "batch", "fraud", "--input", Path.Combine(dir, "in.csv"), "--output", Path.Combine(dir, "out.jsonl"), "--resume");
        Assert.Equal(0, resumed.Code);
        Assert.Contains("already complete", resumed.Output);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(dir, "out.jsonl")));
    }

    [Fact]
    public async Task A_file_larger_than_the_buffers_streams_through_them()
    {
        var dir = Temp();
        var rows = Transactions(6000, seed: 3);
        WriteCsv(Path.Combine(dir, "in.csv"), rows);
        var small = new BatchOptions
        {
            Model = "fraud",
            Input = Path.Combine(dir, "in.csv"),
            Output = Path.Combine(dir, "small.parquet"),
            ReadBufferBytes = 64,
            BufferRows = 8,
            BatchSize = 4,
            RowGroupRows = 16,
            PartRows = 1000,
        };
        Assert.True(new FileInfo(small.Input).Length > 100 * small.ReadBufferBytes);
        var result = await BatchJob.RunAsync(fixture.Service, small);
        Assert.Equal(6000, result.Written);
        // Same batch size: ORT's tree ensemble may round differently at another batch size.
        var reference = await BatchJob.RunAsync(fixture.Service, new BatchOptions { Model = "fraud", Input = small.Input, Output = Path.Combine(dir, "big.parquet"), BatchSize = 4 });
        Assert.Equal(6000, reference.Written);

        var a = await ReadParquetAsync(small.Output);
        var b = await ReadParquetAsync(Path.Combine(dir, "big.parquet"));
        Assert.Equal(b.Rows.Count, a.Rows.Count);
        for (var i = 0; i < a.Rows.Count; i++)
        {
            Assert.Equal(b.Rows[i], a.Rows[i]);
        }
    }

    [Fact]
    public async Task The_summary_s_engine_cpu_is_what_the_model_s_cost_counter_added_during_the_job()
    {
        // A clock that steps 1 ms per reading: each engine run (two readings) costs exactly 1 ms.
        var service = new InferenceService(fixture.Repository, cpuClock: new SteppingCpuClock(1_000_000));
        long Executions() => fixture.Repository.LifetimeStatistics().Where(e => e.Name == "fraud").Sum(e => e.Statistics.Snapshot().ExecutionCount);
        var dir = Temp();
        WriteCsv(Path.Combine(dir, "in.csv"), Transactions(100));
        var before = Executions();

        var result = await BatchJob.RunAsync(service, new BatchOptions { Model = "fraud", Input = Path.Combine(dir, "in.csv"), Output = Path.Combine(dir, "out.parquet"), BatchSize = 16 });

        var runs = Executions() - before;
        Assert.Equal(7, runs);
        Assert.Equal(TimeSpan.FromMilliseconds(runs), result.EngineCpuTime);
        Assert.Equal(runs * 1e-3 * 1000 / 100, result.EngineCpuSecondsPerThousandRows, 12);
    }

    /// <summary>
    /// A per-thread clock that moves <paramref name="step"/> ns per reading on the reading thread, as a thread CPU clock
    /// moves only with its own thread: one reading before and one after a run, so each run costs exactly one step.
    /// </summary>
    private sealed class SteppingCpuClock(long step) : CpuClock
    {
        private readonly ThreadLocal<long> _now = new();

        public override long GetThreadCpuNanoseconds() => _now.Value += step;
    }
}
