using Pronto.Core.Configuration;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;
using Pronto.Models.Fraud;

namespace Pronto.Models;

/// <summary>
/// The card-transaction fraud classifier Pronto trains itself (Fraud/MODEL_CARD.md): a JSON object of
/// transaction fields in, P(legit) and P(fraud) out, labels <c>legit</c>/<c>fraud</c>.
/// </summary>
internal static class FraudModel
{
    public const string Name = "fraud";

    public static ModelConfig Build(string directory) => Build(directory, new FraudTrainingOptions());

    public static ModelConfig Build(string directory, FraudTrainingOptions options)
    {
        FraudTrainer.Train(options, directory);
        File.WriteAllLines(Path.Combine(directory, "labels.txt"), ["legit", "fraud"]);

        var config = new ModelConfig
        {
            Name = Name,
            Platform = ModelConfig.OnnxPlatform,

            // One run costs a few microseconds per row: large batches are what batch jobs and SQL want.
            MaxBatchSize = 4096,
            Inputs = { new TensorConfig { Name = "features", DataType = DataType.FP32, Dims = [FraudFeatures.Names.Count] } },
            Outputs = { new TensorConfig { Name = "probabilities", DataType = DataType.FP32, Dims = [2], LabelFilename = "labels.txt" } },
        };
        config.Parameters["pronto.prepare"] = "fields";
        config.Parameters["pronto.fields.names"] = string.Join(",", FraudFeatures.Names);
        config.Parameters["pronto.produce"] = "classify";
        config.Parameters["pronto.classify.output"] = "probabilities";
        config.Parameters["pronto.classify.activation"] = "none";

        // A NaN feature takes a fixed branch of every tree: a confident answer to a question nobody asked.
        config.Parameters[InputValidator.RejectNonFiniteKey] = "true";
        return config;
    }
}
