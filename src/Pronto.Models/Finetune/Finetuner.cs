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
/// Whether a new version went live: it does when it is the model's first, when the live version (the latest, which
/// the default version policy serves) has no report to compare with, when its held-out macro-F1 is at least the live
/// version's, or with <see cref="FinetuneOptions.Force"/>; otherwise nothing is written and the live version stays.
/// </summary>
public sealed record FinetunePromotion(bool Promoted, long? CurrentVersion, double? CurrentMacroF1, string Reason);

/// <summary>
/// <c>pronto finetune</c>'s core: split, embed through <see cref="InferenceService"/> (batched, the serving path),
/// train a softmax-regression head, export base + pooling + head + softmax as one ONNX graph and write it as the
/// next version of the named model (staged in a temporary folder, then renamed: a server that loads it, e.g. through POST /v2/repository/models/{name}/load, never sees half of it).
/// Every check of the data runs before anything is written.
/// </summary>
public static class Finetuner
{
    public const string LabelFile = "labels.txt";
    public const string ReportFile = "report.json";
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
        CheckExisting(modelDirectory, options.Name, configText, labels);

        if (!repository.IsServable(options.BaseModel))
        {
            repository.Load(options.BaseModel, cancellationToken);
        }

        var clock = Stopwatch.StartNew();
        var embeddings = Embed(service, options.BaseModel, prepare, Math.Max(1, baseConfig.PreferredRunSize), examples, cancellationToken);
        var embedSeconds = clock.Elapsed.TotalSeconds;

        clock.Restart();
        var head = SoftmaxRegression.Train([.. train.Select(i => embeddings[i])], [.. train.Select(i => classOf[i])], labels.Length, options.L2, options.Iterations);
        var trainSeconds = clock.Elapsed.TotalSeconds;

        var truth = test.Select(i => classOf[i]).ToArray();
        var predicted = test.Select(i => head.Predict(embeddings[i])).ToArray();
        var (accuracy, macroF1, precision, recall, confusion) = ClassificationReport.Measure(truth, predicted, labels.Length);
        var version = NextVersion(modelDirectory);
        var promotion = Promote(modelDirectory, macroF1, options.Force);
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

        var baseGraph = OnnxModelEditor.Load(Path.Combine(baseDirectory, LatestVersion(baseDirectory).ToString(CultureInfo.InvariantCulture), ModelFile));
        var graph = FinetuneGraph.Build(baseGraph, baseConfig, head);
        var written = Write(target, modelDirectory, version, baseDirectory, baseConfig, configText, labels, graph, report);
        return new FinetuneResult(written, report, head);
    }

    private static float[][] Embed(InferenceService service, string model, string prepare, int batch, IReadOnlyList<FinetuneExample> examples, CancellationToken cancellationToken)
    {
        var result = new float[examples.Count][];
        var input = prepare == "text" ? "text" : "image";
        for (var start = 0; start < examples.Count; start += batch)
        {
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
        }

        return result;
    }

    private static Tensor Infer(InferenceService service, string model, string input, ReadOnlyMemory<byte>[] items, CancellationToken cancellationToken) =>
        service.Infer(new InferenceRequest { ModelName = model, Inputs = [new NamedTensor(input, Tensor.FromStrings(items, items.Length))] }, cancellationToken).Outputs[0].Tensor;

    /// <summary>A model folder that exists must be an earlier fine-tune with the same config and labels (they are per model, not per version).</summary>
    private static void CheckExisting(string modelDirectory, string name, string configText, string[] labels)
    {
        if (!Directory.Exists(modelDirectory))
        {
            return;
        }

        var configPath = Path.Combine(modelDirectory, ModelRepository.ConfigFileName);
        var labelPath = Path.Combine(modelDirectory, LabelFile);
        var same = File.Exists(configPath) && File.ReadAllText(configPath) == configText
            && File.Exists(labelPath) && File.ReadAllLines(labelPath).SequenceEqual(labels, StringComparer.Ordinal);
        if (!same)
        {
            ProntoErrors.InvalidArgument($"model '{name}' already exists in {Path.GetDirectoryName(modelDirectory)} with another base, config or label set; a new version must keep them (they are the model's, not the version's): choose a new NAME");
        }
    }

    /// <summary>The promotion decision against the live (latest) version's report.json, on metrics rounded as report.json keeps them.</summary>
    private static FinetunePromotion Promote(string modelDirectory, double macroF1, bool force)
    {
        var current = Directory.Exists(modelDirectory) ? LatestVersion(modelDirectory, 0) : 0;
        if (current == 0)
        {
            return new FinetunePromotion(true, null, null, "the model's first version");
        }

        double? live = null;
        var reportPath = Path.Combine(modelDirectory, current.ToString(CultureInfo.InvariantCulture), ReportFile);
        if (File.Exists(reportPath))
        {
            try
            {
                using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(reportPath));
                if (json.RootElement.TryGetProperty("macro_f1", out var f1) && f1.ValueKind == System.Text.Json.JsonValueKind.Number)
                {
                    live = f1.GetDouble();
                }
            }
            catch (System.Text.Json.JsonException)
            {
                live = null;
            }
        }

        if (live is not { } currentF1)
        {
            return new FinetunePromotion(true, current, null, Invariant($"version {current} has no {ReportFile} with a macro_f1 to compare with"));
        }

        var candidate = Math.Round(macroF1, 6);
        return candidate >= currentF1
            ? new FinetunePromotion(true, current, currentF1, Invariant($"held-out macro-F1 {candidate:0.000000} >= version {current}'s {currentF1:0.000000}"))
            : force
                ? new FinetunePromotion(true, current, currentF1, Invariant($"--force: held-out macro-F1 {candidate:0.000000} < version {current}'s {currentF1:0.000000}"))
                : new FinetunePromotion(false, current, currentF1, Invariant($"held-out macro-F1 {candidate:0.000000} < version {current}'s {currentF1:0.000000}: version {current} stays live and nothing was written (--force writes the new version anyway)"));
    }

    private static long NextVersion(string modelDirectory) => Directory.Exists(modelDirectory) ? LatestVersion(modelDirectory, 0) + 1 : 1;

    private static long LatestVersion(string modelDirectory, long none = -1)
    {
        var latest = none;
        foreach (var dir in Directory.EnumerateDirectories(modelDirectory))
        {
            if (long.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > latest)
            {
                latest = v;
            }
        }

        return latest >= 0 ? latest : ProntoErrors.InvalidArgument<long>($"'{modelDirectory}' has no numbered version folder");
    }

    private static string Write(string target, string modelDirectory, long version, string baseDirectory, ModelConfig baseConfig, string configText, string[] labels, ModelProto graph, ClassificationReport report)
    {
        var versionName = version.ToString(CultureInfo.InvariantCulture);
        var isNew = !Directory.Exists(modelDirectory);

        // A new model is staged whole beside the repository's models; a new version of an existing one inside its folder.
        // Dot-prefixed folders are not model names nor version numbers, so neither is ever served half-written.
        var staging = isNew
            ? Path.Combine(target, $".{Path.GetFileName(modelDirectory)}.partial-{Guid.NewGuid():N}")
            : Path.Combine(modelDirectory, $".{versionName}.partial-{Guid.NewGuid():N}");
        var versionDirectory = isNew ? Path.Combine(staging, versionName) : staging;
        Directory.CreateDirectory(versionDirectory);
        try
        {
            if (isNew)
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
            }

            OnnxModelEditor.Save(graph, Path.Combine(versionDirectory, ModelFile));
            File.WriteAllText(Path.Combine(versionDirectory, ReportFile), report.ToJson());
            Directory.Move(staging, isNew ? modelDirectory : Path.Combine(modelDirectory, versionName));
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }

        return Path.Combine(modelDirectory, versionName);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
