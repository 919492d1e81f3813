using System.Globalization;
using System.Text.Json;
using Parquet;
using Pronto.Models.Fraud;
using Pronto.Models.Samples;
using Pronto.Testing;
using SkiaSharp;

namespace Pronto.Cli.Tests;

[Collection(BundledCollection.Name)]
public sealed class SampleCommandTests(BundledRepositoryFixture fixture) : IDisposable
{
    private static readonly string[] FraudColumns = ["id", "amount", "customer_avg_amount", "merchant_category", "hour", "distance_km", "txn_last_hour", "is_fraud"];

    private readonly string _temp = Directory.CreateTempSubdirectory("pronto-cli-sample-").FullName;

    [Fact]
    public async Task Fraud_parquet_holds_the_generator_rows_under_the_model_field_names()
    {
        var path = Path.Combine(_temp, "transactions.parquet");
        var (code, output, error) = await CliRunner.RunAsync("sample", "fraud", "--rows", "1500", "--seed", "7", "--output", path);
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Equal($"wrote 1500 fraud sample rows (seed 7) to {path}\n", output);

        var expected = new TransactionGenerator(7).Generate(1500).ToArray();
        await using var stream = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(stream);
        Assert.Equal(FraudColumns, reader.Schema.Fields.Select(f => f.Name));
        Assert.Equal(1500, reader.Metadata!.NumRows);
        Assert.Equal(1, reader.RowGroupCount);
        var fields = reader.Schema.GetDataFields();
        using var group = reader.OpenRowGroupReader(0);
        var ids = new long?[1500];
        await group.ReadAsync(fields[0], ids.AsMemory(), null, CancellationToken.None);
        Assert.Equal(Enumerable.Range(0, 1500).Select(i => (long?)i), ids);
        for (var f = 0; f < FraudFeatures.Count; f++)
        {
            var values = new float[1500];
            await group.ReadAsync(fields[1 + f], values.AsMemory(), null, CancellationToken.None);
            Assert.Equal(expected.Select(t => t.ToFeatures()[f]), values);
        }

        var labels = new bool?[1500];
        await group.ReadAsync(fields[7], labels.AsMemory(), null, CancellationToken.None);
        Assert.Equal(expected.Select(t => (bool?)t.IsFraud), labels);
    }

    [Fact]
    public async Task Fraud_csv_and_jsonl_hold_the_same_rows_as_text()
    {
        var csv = Path.Combine(_temp, "t.csv");
        var jsonl = Path.Combine(_temp, "t.jsonl");
        Assert.Equal(0, (await CliRunner.RunAsync("sample", "fraud", "--rows", "300", "--output", csv)).ExitCode);
        Assert.Equal(0, (await CliRunner.RunAsync("sample", "fraud", "--rows", "300", "--output", jsonl)).ExitCode);

        var expected = new TransactionGenerator(42).Generate(300).ToArray();
        var lines = await File.ReadAllLinesAsync(csv);
        Assert.Equal(301, lines.Length);
        Assert.Equal(string.Join(',', FraudColumns), lines[0]);
        for (var i = 0; i < expected.Length; i++)
        {
            var t = expected[i];
            Assert.Equal(string.Join(',', [i.ToString(CultureInfo.InvariantCulture), .. t.ToFeatures().Select(v => v.ToString("R", CultureInfo.InvariantCulture)), t.IsFraud ? "true" : "false"]), lines[i + 1]);
        }

        var objects = (await File.ReadAllLinesAsync(jsonl)).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(300, objects.Length);
        Assert.Equal(FraudColumns, objects[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal(expected.Select(t => t.Amount), objects.Select(o => o.GetProperty("amount").GetSingle()));
        Assert.Equal(expected.Select(t => t.IsFraud), objects.Select(o => o.GetProperty("is_fraud").GetBoolean()));
    }

    [Fact]
    public async Task Minilm_writes_the_text_column()
    {
        var path = Path.Combine(_temp, "texts.csv");
        var (code, output, _) = await CliRunner.RunAsync("sample", "minilm", "--output", path);
        Assert.Equal(0, code);
        Assert.Equal($"wrote 100 minilm sample rows (seed 42) to {path}\n", output);
        var lines = await File.ReadAllLinesAsync(path);
        Assert.Equal(["id,text", .. SampleTexts.Generate(100, 42).Select((t, i) => $"{i},{t}")], lines);
        Assert.Equal(100, lines.Skip(1).Distinct().Count());
    }

    [Fact]
    public async Task Resnet18_writes_png_images_and_a_listing_of_their_paths()
    {
        var folder = Path.Combine(_temp, "images");
        var (code, output, _) = await CliRunner.RunAsync("sample", "resnet18", "--rows", "3", "--output", folder);
        Assert.Equal(0, code);
        Assert.Equal($"wrote 3 resnet18 sample rows (seed 42) to {Path.Combine(folder, "images.csv")}\n", output);
        Assert.Equal(["id,image", "0,image-0000.png", "1,image-0001.png", "2,image-0002.png"], await File.ReadAllLinesAsync(Path.Combine(folder, "images.csv")));
        Assert.Equal(["image-0000.png", "image-0001.png", "image-0002.png", "images.csv"], Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var images = new List<byte[]>();
        for (var i = 0; i < 3; i++)
        {
            var bytes = await File.ReadAllBytesAsync(Path.Combine(folder, $"image-000{i}.png"));
            using var bitmap = SKBitmap.Decode(bytes);
            Assert.Equal((224, 224), (bitmap.Width, bitmap.Height));
            images.Add(bytes);
        }

        Assert.Equal(3, images.Select(Convert.ToBase64String).Distinct().Count());

        // A listing file instead of a folder: the images go beside it.
        var listing = Path.Combine(_temp, "pics", "list.jsonl");
        Assert.Equal(0, (await CliRunner.RunAsync("sample", "resnet18", "--rows", "2", "--output", listing)).ExitCode);
        Assert.Equal(["""{"id":0,"image":"image-0000.png"}""", """{"id":1,"image":"image-0001.png"}"""], await File.ReadAllLinesAsync(listing));
        Assert.Equal(images[1], await File.ReadAllBytesAsync(Path.Combine(_temp, "pics", "image-0001.png")));
    }

    [Theory]
    [InlineData("fraud", "a.parquet")]
    [InlineData("fraud", "a.csv")]
    [InlineData("fraud", "a.jsonl")]
    [InlineData("minilm", "a.parquet")]
    [InlineData("minilm", "a.jsonl")]
    [InlineData("resnet18", "images")]
    public async Task The_same_seed_writes_the_same_bytes_and_another_seed_other_bytes(string model, string name)
    {
        var first = await Sample(model, name, "first", "5");
        var again = await Sample(model, name, "again", "5");
        var other = await Sample(model, name, "other", "6");
        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }

    /// <summary>Every file the command wrote, by name, as base64.</summary>
    private async Task<Dictionary<string, string>> Sample(string model, string name, string folder, string seed)
    {
        var target = Path.Combine(_temp, folder, name);
        Assert.Equal(0, (await CliRunner.RunAsync("sample", model, "--rows", "200", "--seed", seed, "--output", target)).ExitCode);
        return Directory.GetFiles(Path.Combine(_temp, folder), "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(_temp, f).Replace(folder, "", StringComparison.Ordinal), f => Convert.ToBase64String(File.ReadAllBytes(f)));
    }

    [Theory]
    [InlineData("fraud", "transactions.parquet", "", 2000)]
    [InlineData("fraud", "transactions.csv", "", 2000)]
    [InlineData("minilm", "texts.jsonl", "", 40)]
    [InlineData("resnet18", "images", "images/images.csv", 3)]
    public async Task A_batch_job_over_the_sample_scores_every_row(string model, string name, string input, int rows)
    {
        var count = rows.ToString(CultureInfo.InvariantCulture);
        Assert.Equal(0, (await CliRunner.RunAsync("sample", model, "--rows", count, "--output", Path.Combine(_temp, name))).ExitCode);
        var scored = Path.Combine(_temp, "scored.parquet");
        var (code, output, error) = await CliRunner.RunAsync("batch", model, "--input", Path.Combine(_temp, input.Length > 0 ? input : name), "--output", scored, "-r", fixture.Root);
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.StartsWith($"rows {count} (job total {count}), written {count}, errors 0 (job total 0), parts 1 written + 0 resumed\n", output, StringComparison.Ordinal);
        Assert.Equal("", await File.ReadAllTextAsync(scored + ".errors.jsonl"));
        await using var stream = File.OpenRead(scored);
        await using var reader = await ParquetReader.CreateAsync(stream);
        Assert.Equal(rows, reader.Metadata!.NumRows);
    }

    [Fact]
    public async Task The_readme_sql_example_runs_over_the_fraud_sample()
    {
        var path = Path.Combine(_temp, "transactions.parquet");
        Assert.Equal(0, (await CliRunner.RunAsync("sample", "fraud", "--rows", "1000", "--output", path)).ExitCode);
        var (code, output, error) = await CliRunner.RunAsync("sql", $"""
            SELECT id, pronto_predict('fraud', amount, customer_avg_amount, merchant_category, hour,
                   distance_km, txn_last_hour) AS p_fraud FROM '{path}' ORDER BY p_fraud DESC LIMIT 10
            """, "-r", fixture.Root);
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Contains("│ id ", output, StringComparison.Ordinal);
        Assert.EndsWith("(10 rows)\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_model_exits_3_naming_the_models_with_samples()
    {
        var (code, output, error) = await CliRunner.RunAsync("sample", "ghost", "--output", Path.Combine(_temp, "a.csv"));
        Assert.Equal(3, code);
        Assert.Equal("", output);
        Assert.Equal("error: no sample data for model 'ghost'; pronto sample writes it for fraud, minilm, resnet18\n", error);
        Assert.Empty(Directory.GetFileSystemEntries(_temp));
    }

    [Theory]
    [InlineData("fraud", "a.txt", "5", "error: --output '{0}' must end in .parquet, .jsonl, .csv\n")]
    [InlineData("minilm", "a", "5", "error: --output '{0}' must end in .parquet, .jsonl, .csv\n")]
    [InlineData("fraud", "a.csv", "0", "error: --rows must be positive, got 0\n")]
    [InlineData("resnet18", "images", "-3", "error: --rows must be positive, got -3\n")]
    public async Task A_bad_output_or_row_count_exits_2_and_writes_nothing(string model, string name, string rows, string message)
    {
        var target = Path.Combine(_temp, name);
        var (code, _, error) = await CliRunner.RunAsync("sample", model, "--rows", rows, "--output", target);
        Assert.Equal(2, code);
        Assert.Equal(string.Format(CultureInfo.InvariantCulture, message, target), error);
        Assert.Empty(Directory.GetFileSystemEntries(_temp));
    }

    [Fact]
    public async Task An_existing_output_is_never_overwritten()
    {
        var path = Path.Combine(_temp, "t.csv");
        await File.WriteAllTextAsync(path, "mine");
        var (code, _, error) = await CliRunner.RunAsync("sample", "fraud", "--output", path);
        Assert.Equal(2, code);
        Assert.Equal($"error: '{path}' already exists; delete it or choose another --output\n", error);
        Assert.Equal("mine", await File.ReadAllTextAsync(path));

        var folder = Path.Combine(_temp, "images");
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "keep.txt"), "mine");
        (code, _, error) = await CliRunner.RunAsync("sample", "resnet18", "--output", folder);
        Assert.Equal(2, code);
        Assert.Equal($"error: '{folder}' is not empty; choose a new folder\n", error);
        Assert.Equal(["keep.txt"], Directory.GetFiles(folder).Select(Path.GetFileName));
    }

    public void Dispose() => Directory.Delete(_temp, recursive: true);
}
