using System.Diagnostics;
using System.Globalization;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Models.Onnx;

namespace Pronto.Models.Finetune;

/// <summary>
/// What one fine-tune did: the new version's folder (null when it was not promoted, so nothing was written), its
/// held-out report (with the promotion decision) and the trained head.
/// </summary>
public sealed record FinetuneResult(string? VersionDirectory, ClassificationReport Report, ClassifierHead Head);


/// <summary>
/// <c>pronto finetune</c>'s core: split, embed through <see cref="InferenceService"/> (batched, the serving path),
/// train a softmax-regression head, export base + pooling + head + softmax as one ONNX graph and write it as the
/// next version of the named model (staged in a temporary folder, then renamed: a server that loads it, e.g. through POST /v2/repository/models/{name}/load, never sees half of it).
/// Every check of the data runs before anything is written.
/// </summary>
public static class Finetuner
{
    public const string LabelFile = "labels.txt";
    public const string ReportFile = ModelVersions.ReportFile;
    private const string ModelFile = "model.onnx";

    public static FinetuneResult Run(InferenceService service, FinetuneOptions options, IReadOnlyList<FinetuneExample> examples, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(examples);
        if (options.TestFraction is <= 0 or >= 1)
        {
            ProntoErrors.InvalidArgument(Invariant($"--test-fraction must be between 0 and 1, got {options.TestFraction}"));
        }

        if (options.Name.Length == 0 || options.Name.StartsWith('.') || options.Name.IndexOfAny(['/', '\\']) >= 0 || options.Name == options.BaseModel)
        {
            ProntoErrors.InvalidArgument($"model name '{options.Name}' must be a plain folder name, not starting with '.', and not the base model's");
        }

        if (examples.Count == 0)
        {
            ProntoErrors.InvalidArgument("the data holds no examples");
        }

        var labels = examples.Select(e => e.Label).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (labels.Length < 2)
        {
            ProntoErrors.InvalidArgument($"the data holds a single class ('{labels[0]}'): a classifier needs at least 2");
        }

        var index = labels.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i, StringComparer.Ordinal);
        var classOf = examples.Select(e => index[e.Label]).ToArray();
        var (train, test) = StratifiedSplit.Split(classOf, labels, options.TestFraction, options.Seed);

        var repository = service.Repository;
        var baseDirectory = Path.Combine(repository.Root, options.BaseModel);
        var configPath = Path.Combine(baseDirectory, ModelRepository.ConfigFileName);
        if (!File.Exists(configPath))
        {
            ProntoErrors.NotFound($"base model '{options.BaseModel}' has no {ModelRepository.ConfigFileName} in {repository.Root}");
        }

        var baseConfig = ModelConfigText.Parse(File.ReadAllText(configPath), options.BaseModel);
        var prepare = baseConfig.Parameters.GetValueOrDefault(ProntoParameters.Prepare);
        if (prepare is not ("text" or "image") || baseConfig.Parameters.GetValueOrDefault(ProntoParameters.Produce) != "embedding")
        {
            ProntoErrors.Unsupported($"base model '{options.BaseModel}' must take text or image items and produce an embedding (minilm, resnet18)");
        }

        var target = options.TargetRepository ?? repository.Root;
        var modelDirectory = Path.Combine(target, options.Name);
        var config = FinetuneGraph.Config(baseConfig, options.Name, labels.Length, LabelFile);
        var configText = ModelConfigText.Format(config);
        ModelVersions.CheckExisting(modelDirectory, options.Name, configText, LabelFile, labels, "base, config or label set");

        if (!repository.IsServable(options.BaseModel))
        {
            repository.Load(options.BaseModel, cancellationToken);
        }

        var clock = Stopwatch.StartNew();
        var embeddings = Embed(service, options.BaseModel, prepare, Math.Max(1, baseConfig.PreferredRunSize), examples, options.Progress, cancellationToken);
        var embedSeconds = clock.Elapsed.TotalSeconds;

        clock.Restart();
        cancellationToken.ThrowIfCancellationRequested();
        options.Progress?.Invoke("training", 0, 1);
        var head = SoftmaxRegression.Train([.. train.Select(i => embeddings[i])], [.. train.Select(i => classOf[i])], labels.Length, options.L2, options.Iterations);
        var trainSeconds = clock.Elapsed.TotalSeconds;
        options.Progress?.Invoke("training", 1, 1);

        var truth = test.Select(i => classOf[i]).ToArray();
        var predicted = test.Select(i => head.Predict(embeddings[i])).ToArray();
        var (accuracy, macroF1, precision, recall, confusion) = ClassificationReport.Measure(truth, predicted, labels.Length);
        var version = ModelVersions.Next(modelDirectory);
        var promotion = ModelVersions.Promote(modelDirectory, "macro_f1", "macro-F1", macroF1, higherIsBetter: true, options.Force);
        var report = new ClassificationReport
        {
            Promotion = promotion,
            Model = options.Name,
            Version = version,
            BaseModel = options.BaseModel,
            Labels = labels,
            TrainExamples = train.Length,
            TestExamples = test.Length,
            Seed = options.Seed,
            Accuracy = accuracy,
            MacroF1 = macroF1,
            Precision = precision,
            Recall = recall,
            Confusion = confusion,
            EmbeddingSeconds = embedSeconds,
            EmbeddingRowsPerSecond = examples.Count / Math.Max(embedSeconds, 1e-9),
            TrainingSeconds = trainSeconds,
        };

        if (!promotion.Promoted)
        {
            return new FinetuneResult(null, report, head);
        }

        var baseGraph = OnnxModelEditor.Load(Path.Combine(baseDirectory, ModelVersions.Latest(baseDirectory).ToString(CultureInfo.InvariantCulture), ModelFile));
        var graph = FinetuneGraph.Build(baseGraph, baseConfig, head);
        var written = Write(target, modelDirectory, version, baseDirectory, baseConfig, configText, labels, graph, report);
        return new FinetuneResult(written, report, head);
    }

    private static float[][] Embed(InferenceService service, string model, string prepare, int batch, IReadOnlyList<FinetuneExample> examples, Action<string, int, int>? progress, CancellationToken cancellationToken)
    {
        var result = new float[examples.Count][];
        var input = prepare == "text" ? "text" : "image";
        for (var start = 0; start < examples.Count; start += batch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(batch, examples.Count - start);
            var items = new ReadOnlyMemory<byte>[count];
            for (var i = 0; i < count; i++)
            {
                items[i] = examples[start + i].Item;
            }

            Tensor output;
            try
            {
                output = Infer(service, model, input, items, cancellationToken);
            }
            catch (ProntoException e) when (e.Code == ErrorCode.InvalidArgument)
            {
                // Find the item the batch failed on, so the error names its file or row.
                for (var i = 0; i < count; i++)
                {
                    try
                    {
                        Infer(service, model, input, [items[i]], cancellationToken);
                    }
                    catch (ProntoException single) when (single.Code == ErrorCode.InvalidArgument)
                    {
                        var what = input == "image" ? "unreadable image" : "unusable text";
                        throw new ProntoException(ErrorCode.InvalidArgument, $"{what} {examples[start + i].Source}: {single.Message}", single);
                    }
                }

                throw;
            }

            var values = output.Span<float>();
            var dim = (int)(output.ElementCount / count);
            for (var i = 0; i < count; i++)
            {
                result[start + i] = values.Slice(i * dim, dim).ToArray();
            }

            progress?.Invoke("embedding", start + count, examples.Count);
        }

        return result;
    }

    private static Tensor Infer(InferenceService service, string model, string input, ReadOnlyMemory<byte>[] items, CancellationToken cancellationToken) =>
        service.InferDirect(new InferenceRequest { ModelName = model, Inputs = [new NamedTensor(input, Tensor.FromStrings(items, items.Length))] }, cancellationToken).Outputs[0].Tensor;

    private static string Write(string target, string modelDirectory, long version, string baseDirectory, ModelConfig baseConfig, string configText, string[] labels, ModelProto graph, ClassificationReport report) =>
        ModelVersions.Write(target, modelDirectory, version,
            staging =>
            {
                File.WriteAllText(Path.Combine(staging, ModelRepository.ConfigFileName), configText);
                File.WriteAllLines(Path.Combine(staging, LabelFile), labels);

                // The files the base model's processing names (vocab.txt, mean_image.bin) travel with it.
                foreach (var value in baseConfig.Parameters.Values)
                {
                    var source = Path.Combine(baseDirectory, value);
                    if (value.Length > 0 && !value.Contains('/', StringComparison.Ordinal) && File.Exists(source))
                    {
                        File.Copy(source, Path.Combine(staging, value));
                    }
                }
            },
            versionDirectory =>
            {
                OnnxModelEditor.Save(graph, Path.Combine(versionDirectory, ModelFile));
                File.WriteAllText(Path.Combine(versionDirectory, ReportFile), report.ToJson());
            });

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
