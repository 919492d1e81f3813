using System.CommandLine;
using System.Globalization;
using Pronto.Cli.Finetune;
using Pronto.Models.Finetune;

namespace Pronto.Cli.Commands;

/// <summary><c>pronto finetune NAME --base minilm|resnet18 --data PATH</c>: a classifier head on a base model's embeddings, served as NAME.</summary>
internal static class FinetuneCommand
{
    public static Command Create(CliContext context)
    {
        var name = new Argument<string>("NAME") { Description = "The new model's name in the repository (a new version if an earlier finetune wrote it)." };
        var baseModel = new Option<string>("--base") { Description = "Base model: minilm (text) or resnet18 (images).", Required = true };
        var data = new Option<string>("--data") { Description = "CSV / JSONL / Parquet file of texts or image paths (relative to its folder) and labels, or a folder with one image subfolder per class.", Required = true };
        var textColumn = new Option<string>("--text-column") { Description = "Column of texts.", DefaultValueFactory = _ => "text" };
        var imageColumn = new Option<string>("--image-column") { Description = "Column of image paths.", DefaultValueFactory = _ => "image" };
        var labelColumn = new Option<string>("--label-column") { Description = "Column of labels (strings or integers).", DefaultValueFactory = _ => "label" };
        var testFraction = new Option<double>("--test-fraction") { Description = "Share of each class held out for the report.", DefaultValueFactory = _ => 0.2 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the train/test split (the same seed gives the same model bytes).", DefaultValueFactory = _ => 42 };
        var force = new Option<bool>("--force") { Description = "Write the new version even when its held-out macro-F1 is below the live version's." };
        var command = new Command("finetune", "Train a classifier head on a base model's embeddings and write base + head as one ONNX model version.")
        {
            name, baseModel, data, textColumn, imageColumn, labelColumn, testFraction, seed, force, context.RepositoryOption,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var baseName = parse.GetValue(baseModel)!;
            using var repository = context.OpenRepository(parse.GetValue(context.RepositoryOption));
            var configPath = Path.Combine(repository.Root, baseName, Core.Repository.ModelRepository.ConfigFileName);
            if (!File.Exists(configPath))
            {
                throw new Core.Errors.ProntoException(Core.Errors.ErrorCode.NotFound, $"base model '{baseName}' is not in the repository {repository.Root}");
            }

            var images = Core.Configuration.ModelConfigText.Parse(File.ReadAllText(configPath), baseName).Parameters.GetValueOrDefault("pronto.prepare") == "image";
            var examples = await FinetuneData.LoadAsync(
                parse.GetValue(data)!, images, images ? parse.GetValue(imageColumn)! : parse.GetValue(textColumn)!, parse.GetValue(labelColumn)!, cancellationToken);
            var options = new FinetuneOptions
            {
                Name = parse.GetValue(name)!,
                BaseModel = baseName,
                TestFraction = parse.GetValue(testFraction),
                Seed = parse.GetValue(seed),
                Force = parse.GetValue(force),
            };
            var result = Finetuner.Run(CliContext.Service(repository), options, examples, cancellationToken);
            await context.Output.WriteAsync(result.Report.ToText());
            if (result.VersionDirectory is { } written)
            {
                await context.Output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"wrote {written} (model.onnx, {Finetuner.ReportFile})"));
            }
            return ExitCodes.Success;
        });

        return command;
    }
}
