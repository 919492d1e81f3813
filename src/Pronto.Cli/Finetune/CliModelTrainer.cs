using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Models.Finetune;
using Pronto.Models.Tabular;
using Pronto.Server.Training;

namespace Pronto.Cli.Finetune;

/// <summary>
/// The trainer <c>pronto serve</c> gives the server's training job API: the same data readers and trainers as
/// <c>pronto finetune</c> and <c>pronto train</c>, writing into the served repository.
/// </summary>
internal sealed class CliModelTrainer : IModelTrainer
{
    public async Task<TrainingOutcome> TrainAsync(TrainingRequest request, InferenceService service, Action<TrainingProgress> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(service);
        var root = service.Repository.Root;
        if (request.Kind == TrainingRequest.Finetune)
        {
            var configPath = Path.Combine(root, request.BaseModel!, ModelRepository.ConfigFileName);
            if (!File.Exists(configPath))
            {
                ProntoErrors.NotFound($"base model '{request.BaseModel}' is not in the repository {root}");
            }

            var images = ModelConfigText.Parse(File.ReadAllText(configPath), request.BaseModel!).Parameters.GetValueOrDefault(ProntoParameters.Prepare) == "image";
            var examples = await FinetuneData.LoadAsync(request.Data, images, (images ? request.ImageColumn : request.TextColumn) ?? (images ? "image" : "text"), request.LabelColumn ?? "label", cancellationToken);
            var result = Finetuner.Run(service, new FinetuneOptions
            {
                Name = request.Model,
                BaseModel = request.BaseModel!,
                TestFraction = request.TestFraction ?? 0.2,
                Seed = request.Seed ?? 42,
                Force = request.Force,
                Progress = (stage, done, total) => progress(new TrainingProgress(stage, done, total)),
            }, examples, cancellationToken);
            return new TrainingOutcome(result.Report.Version, result.VersionDirectory, result.Report.Promotion!.Promoted, result.Report.Promotion.Reason, result.Report.ToJson());
        }

        var table = await TabularFile.LoadAsync(request.Data, request.LabelColumn!, request.Features, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        progress(new TrainingProgress("training", 0, 1));
        var trained = TabularTrainer.Train(table, new TabularOptions
        {
            Name = request.Model,
            Task = request.Task ?? TabularOptions.Classification,
            TestFraction = request.TestFraction ?? 0.2,
            Seed = request.Seed ?? 42,
            Force = request.Force,
        }, root);
        progress(new TrainingProgress("training", 1, 1));
        return new TrainingOutcome(trained.Report.Version, trained.VersionDirectory, trained.Report.Promotion!.Promoted, trained.Report.Promotion.Reason, trained.Report.ToJson());
    }
}
