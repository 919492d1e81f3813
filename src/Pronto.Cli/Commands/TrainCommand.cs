using System.CommandLine;
using System.Globalization;
using Pronto.Models;
using Pronto.Cli.Finetune;
using Pronto.Models.Fraud;
using Pronto.Models.Tabular;

namespace Pronto.Cli.Commands;

/// <summary>
/// <c>pronto train NAME --data PATH --label COL</c>: a classifier or regressor on any table (TabularTrainer), written as
/// the next version of NAME in the repository; <c>pronto train fraud --output DIR</c>: the project's own fraud model.
/// </summary>
internal static class TrainCommand
{
    public static Command Create(CliContext context)
    {
        var seed = new Option<int>("--seed") { Description = "Seed of the transaction generator and the trainer.", DefaultValueFactory = _ => 42 };
        var trainRows = new Option<int>("--train-rows") { Description = "Generated training transactions.", DefaultValueFactory = _ => 60_000 };
        var testRows = new Option<int>("--test-rows") { Description = "Generated held-out transactions for the ROC AUC.", DefaultValueFactory = _ => 20_000 };
        var output = new Option<string>("--output", "-o") { Description = "Model folder to write (config.pbtxt, labels.txt, MODEL_CARD.md, 1/model.onnx).", Required = true };
        var fraud = new Command("fraud", "Generate synthetic card transactions, train the fraud classifier (FastTree), export it to ONNX.") { seed, trainRows, testRows, output };
        fraud.SetAction(parse =>
        {
            var options = new FraudTrainingOptions
            {
                Seed = parse.GetValue(seed),
                TrainRows = Positive(parse.GetValue(trainRows), "--train-rows"),
                TestRows = Positive(parse.GetValue(testRows), "--test-rows"),
            };
            var directory = Path.GetFullPath(parse.GetValue(output)!);
            if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
            {
                throw new Core.Errors.ProntoException(Core.Errors.ErrorCode.InvalidArgument, $"'{directory}' is not empty; choose a new folder");
            }

            BundledRepository.BuildFraud(directory, options);
            var card = File.ReadAllLines(Path.Combine(directory, FraudTrainer.ModelCardFileName)).FirstOrDefault(l => l.StartsWith("ROC AUC", StringComparison.Ordinal));
            context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trained fraud (seed {options.Seed}, {options.TrainRows} train / {options.TestRows} held-out rows) into {directory}"));
            context.Output.WriteLine(card);
            return ExitCodes.Success;
        });

        var name = new Argument<string>("NAME") { Description = "The model's name in the repository (a new version if an earlier pronto train wrote it)." };
        var data = new Option<string>("--data") { Description = "CSV / JSONL / Parquet table of features and a label.", Required = true };
        var label = new Option<string>("--label") { Description = "The label column (a class, or a number with --task regression).", Required = true };
        var task = new Option<string>("--task") { Description = "classification (two or more classes) or regression.", DefaultValueFactory = _ => TabularOptions.Classification };
        var features = new Option<string?>("--features") { Description = "Feature columns, comma-separated (default: every column but the label)." };
        var testFraction = new Option<double>("--test-fraction") { Description = "Share of the rows (of each class) held out to choose the trainer and for the report.", DefaultValueFactory = _ => 0.2 };
        var tableSeed = new Option<ulong>("--seed") { Description = "Seed of the split and the trainers (the same seed gives the same model bytes).", DefaultValueFactory = _ => 42 };
        var force = new Option<bool>("--force") { Description = "Write the new version even when its held-out metric is worse than the live version's." };
        var train = new Command("train", "Train a model on a table (ML.NET FastTree or SDCA, the best on a held-out split), exported to ONNX and served with JSON rows; or `train fraud`, the project's own model.")
        {
            fraud, name, data, label, task, features, testFraction, tableSeed, force, context.RepositoryOption,
        };
        train.SetAction(async (parse, cancellationToken) =>
        {
            using var repository = context.OpenRepository(parse.GetValue(context.RepositoryOption));
            var columns = parse.GetValue(features) is { } list ? list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : null;
            var table = await TabularFile.LoadAsync(parse.GetValue(data)!, parse.GetValue(label)!, columns, cancellationToken);
            var result = TabularTrainer.Train(table, new TabularOptions
            {
                Name = parse.GetValue(name)!,
                Task = parse.GetValue(task)!,
                TestFraction = parse.GetValue(testFraction),
                Seed = parse.GetValue(tableSeed),
                Force = parse.GetValue(force),
            }, repository.Root);
            await context.Output.WriteAsync(result.Report.ToText());
            if (result.VersionDirectory is { } written)
            {
                await context.Output.WriteLineAsync($"wrote {written} (model.onnx, report.json)");
            }

            return ExitCodes.Success;
        });
        return train;
    }

    private static int Positive(int value, string name) => value > 0
        ? value
        : throw new Core.Errors.ProntoException(Core.Errors.ErrorCode.InvalidArgument, $"{name} must be positive, got {value}");
}
