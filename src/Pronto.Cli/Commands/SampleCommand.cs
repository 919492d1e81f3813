using System.CommandLine;
using System.Globalization;
using Pronto.Batch;
using Pronto.Core.Errors;
using Pronto.Models.Fraud;
using Pronto.Models.Samples;

namespace Pronto.Cli.Commands;

/// <summary>
/// <c>pronto sample MODEL --output PATH</c>: writes generated input for a bundled model, in the columns
/// <c>pronto batch</c> and the SQL functions read: fraud transactions (<see cref="TransactionGenerator"/>), minilm texts,
/// resnet18 PNG images plus a listing of their paths. The same seed gives the same bytes.
/// </summary>
internal static class SampleCommand
{
    /// <summary>The models with sample data and their default row counts.</summary>
    private static readonly (string Model, int Rows)[] Models = [("fraud", 10_000), ("minilm", 100), ("resnet18", 8)];

    /// <summary>The listing a folder output of resnet18 gets.</summary>
    public const string ImageListing = "images.csv";

    public static Command Create(CliContext context)
    {
        var model = new Argument<string>("model") { Description = "fraud, minilm or resnet18." };
        var output = new Option<string>("--output", "-o")
        {
            Description = "fraud, minilm: a .parquet, .jsonl or .csv file. resnet18: a folder (PNG images plus images.csv), or the listing's .csv / .jsonl / .parquet file (images beside it).",
            Required = true,
        };
        var rows = new Option<int?>("--rows", "-n") { Description = "Rows (images for resnet18). Default: fraud 10000, minilm 100, resnet18 8." };
        var seed = new Option<int>("--seed") { Description = "Seed of the generator: the same seed writes the same bytes.", DefaultValueFactory = _ => 42 };
        var command = new Command("sample", "Write generated sample input for a bundled model (the files the batch and SQL examples read).") { model, output, rows, seed };
        command.SetAction((parse, ct) => RunAsync(context, parse.GetValue(model)!, parse.GetValue(output)!, parse.GetValue(rows), parse.GetValue(seed), ct));
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, string model, string output, int? rows, int seed, CancellationToken ct)
    {
        var known = Array.FindIndex(Models, m => m.Model == model);
        if (known < 0)
        {
            ProntoErrors.NotFound($"no sample data for model '{model}'; pronto sample writes it for {string.Join(", ", Models.Select(m => m.Model))}");
        }

        var count = rows ?? Models[known].Rows;
        if (count <= 0)
        {
            ProntoErrors.InvalidArgument($"--rows must be positive, got {count}");
        }

        var written = model switch
        {
            "fraud" => await WriteFraudAsync(NewFile(output), count, seed, ct),
            "minilm" => await WriteTextsAsync(NewFile(output), count, seed, ct),
            _ => await WriteImagesAsync(output, count, seed, ct),
        };
        await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"wrote {count} {model} sample rows (seed {seed}) to {written}"));
        return ExitCodes.Success;
    }

    /// <summary>The full path of a new file output with a known extension.</summary>
    private static string NewFile(string output)
    {
        if (!TableFile.Extensions.Contains(Path.GetExtension(output).ToLowerInvariant()))
        {
            ProntoErrors.InvalidArgument($"--output '{output}' must end in {string.Join(", ", TableFile.Extensions)}");
        }

        var path = Path.GetFullPath(output);
        if (File.Exists(path) || Directory.Exists(path))
        {
            ProntoErrors.InvalidArgument($"'{path}' already exists; delete it or choose another --output");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return path;
    }

    /// <summary>
    /// <c>id</c> (0-based), the six features under the names the fraud model reads (FP32 as the model takes them;
    /// Parquet FLOAT), and the generator's ground truth <c>is_fraud</c>.
    /// </summary>
    private static async Task<string> WriteFraudAsync(string path, int count, int seed, CancellationToken ct)
    {
        Column[] columns =
        [
            new("id", ColumnKind.Int64), .. FraudFeatures.Names.Select(n => new Column(n, ColumnKind.Float)), new("is_fraud", ColumnKind.Bool),
        ];
        await TableFile.WriteAsync(path, columns, FraudRows(new TransactionGenerator(seed), count), ct);
        return path;
    }

    private static IEnumerable<object?[]> FraudRows(TransactionGenerator generator, int count)
    {
        // The generator is a stream: chunks of it are the rows of one Generate(count), without holding them all.
        const int Chunk = 65_536;
        var id = 0L;
        for (var start = 0; start < count; start += Chunk)
        {
            foreach (var t in generator.Generate(Math.Min(Chunk, count - start)))
            {
                yield return [id++, t.Amount, t.CustomerAvgAmount, t.MerchantCategory, t.Hour, t.DistanceKm, t.TxnLastHour, t.IsFraud];
            }
        }
    }

    /// <summary><c>id</c> and <c>text</c>, the column minilm reads.</summary>
    private static async Task<string> WriteTextsAsync(string path, int count, int seed, CancellationToken ct)
    {
        var id = 0L;
        await TableFile.WriteAsync(path, [new("id", ColumnKind.Int64), new("text", ColumnKind.String)], SampleTexts.Generate(count, seed).Select(t => new object?[] { id++, t }), ct);
        return path;
    }

    /// <summary>
    /// <c>image-0000.png</c>, ... and a listing with <c>id</c> and <c>image</c> (the column resnet18 reads: the path
    /// relative to the listing's folder, as <c>pronto batch</c> resolves it).
    /// </summary>
    private static async Task<string> WriteImagesAsync(string output, int count, int seed, CancellationToken ct)
    {
        var isFile = Path.GetExtension(output).Length > 0;
        var listing = isFile ? NewFile(output) : Path.Combine(Path.GetFullPath(output), ImageListing);
        var folder = Path.GetDirectoryName(listing)!;
        if (!isFile && Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
        {
            ProntoErrors.InvalidArgument($"'{folder}' is not empty; choose a new folder");
        }

        var names = Enumerable.Range(0, count).Select(i => string.Create(CultureInfo.InvariantCulture, $"image-{i:D4}.png")).ToList();
        if (names.Select(n => Path.Combine(folder, n)).FirstOrDefault(File.Exists) is { } existing)
        {
            ProntoErrors.InvalidArgument($"'{existing}' already exists; choose a new folder");
        }

        Directory.CreateDirectory(folder);
        var i = 0;
        foreach (var png in SampleImages.Generate(count, seed))
        {
            await File.WriteAllBytesAsync(Path.Combine(folder, names[i++]), png, ct);
        }

        var id = 0L;
        await TableFile.WriteAsync(listing, [new("id", ColumnKind.Int64), new("image", ColumnKind.String)], names.Select(n => new object?[] { id++, n }), ct);
        return listing;
    }
}
