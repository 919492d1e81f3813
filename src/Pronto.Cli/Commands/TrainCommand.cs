using System.CommandLine;
using System.Globalization;
using Pronto.Models;
using Pronto.Models.Fraud;

namespace Pronto.Cli.Commands;

/// <summary><c>pronto train fraud</c>: trains the project's own fraud model into a repository folder.</summary>
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

        return new Command("train", "Train the project's own models.") { fraud };
    }

    private static int Positive(int value, string name) => value > 0
        ? value
        : throw new Core.Errors.ProntoException(Core.Errors.ErrorCode.InvalidArgument, $"{name} must be positive, got {value}");
}
