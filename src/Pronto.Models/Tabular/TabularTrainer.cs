using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Models.Finetune;
using Pronto.Models.Fraud;
using Pronto.Models.Onnx;
using Pronto.Onnx;

namespace Pronto.Models.Tabular;

/// <summary>What one <c>pronto train</c> did: the version folder (null when not promoted: nothing written) and the report.</summary>
public sealed record TabularResult(string? VersionDirectory, TabularReport Report);

/// <summary>
/// <c>pronto train NAME --data PATH --label COL</c>: today's fraud trainer generalized to any table. ML.NET trains
/// each candidate (FastTree gradient-boosted trees, and SDCA on min-max normalized features: logistic regression
/// for two classes, maximum entropy for more, least squares for regression) on the training split; the best on the
/// held-out split (ROC AUC, macro-F1, RMSE) is exported to ONNX with the serving contract <c>features</c> FP32
/// [batch, F] -> <c>probabilities</c> FP32 [batch, C] (classification, labels.txt) or <c>prediction</c> FP32
/// [batch, 1] (regression), and a config.pbtxt with <c>fields</c> processing, so the model takes JSON rows of named
/// features like the bundled fraud model. The report's metrics are the exported file's, run by ONNX Runtime.
/// Same data, options and seed give the same model bytes (one training thread).
/// </summary>
public static class TabularTrainer
{
    public const string LabelFile = "labels.txt";
    private const string ModelFile = "model.onnx";
    private const string FeaturesColumn = "Features";
    private const string LabelColumn = "Label";
    private const string BatchDimension = "batch";

    public static TabularResult Train(TabularData data, TabularOptions options, string repository)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(repository);
        if (!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported)
        {
            ProntoErrors.Unsupported("pronto train needs ML.NET, which cannot run in the NativeAOT pronto binary; use the default binary (scripts/install-pronto) or dotnet run");
        }

        if (options.Name.Length == 0 || options.Name.StartsWith('.') || options.Name.IndexOfAny(['/', '\\']) >= 0)
        {
            ProntoErrors.InvalidArgument($"model name '{options.Name}' must be a plain folder name, not starting with '.'");
        }

        if (options.TestFraction is <= 0 or >= 1)
        {
            ProntoErrors.InvalidArgument(string.Create(CultureInfo.InvariantCulture, $"--test-fraction must be between 0 and 1, got {options.TestFraction}"));
        }

        if (data.Features.Count == 0)
        {
            ProntoErrors.InvalidArgument("the data holds no rows");
        }

        var regression = options.Task switch
        {
            TabularOptions.Regression => true,
            TabularOptions.Classification => false,
            _ => ProntoErrors.InvalidArgument<bool>($"--task must be {TabularOptions.Classification} or {TabularOptions.Regression}, got '{options.Task}'"),
        };

        string[] labels;
        int[] classOf;
        float[] targets = [];
        if (regression)
        {
            labels = [];
            classOf = new int[data.Labels.Count];
            targets = new float[data.Labels.Count];
            for (var i = 0; i < targets.Length; i++)
            {
                if (!float.TryParse(data.Labels[i], NumberStyles.Float, CultureInfo.InvariantCulture, out targets[i]) || !float.IsFinite(targets[i]))
                {
                    ProntoErrors.InvalidArgument($"{data.Sources[i]}: label '{data.Labels[i]}' is not a number (regression needs numeric labels)");
                }
            }
        }
        else
        {
            labels = [.. data.Labels.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
            if (labels.Length < 2)
            {
                ProntoErrors.InvalidArgument($"the label column holds a single class ('{labels[0]}'): a classifier needs at least 2");
            }

            var index = labels.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i, StringComparer.Ordinal);
            classOf = [.. data.Labels.Select(l => index[l])];
        }

        var (train, test) = StratifiedSplit.Split(classOf, regression ? ["all rows"] : labels, options.TestFraction, options.Seed);
        var modelDirectory = Path.Combine(repository, options.Name);
        var config = ModelConfigText.Format(Config(options.Name, data.FeatureNames, labels.Length, regression));
        ModelVersions.CheckExisting(modelDirectory, options.Name, config, LabelFile, labels, "task, feature list or label set");

        var ml = new MLContext((int)(options.Seed & int.MaxValue));
        var kind = regression ? Kind.Regression : labels.Length == 2 ? Kind.Binary : Kind.Multiclass;
        var trainView = View(ml, data, train, kind, classOf, targets, labels);
        var testView = View(ml, data, test, kind, classOf, targets, labels);
        var metric = kind switch { Kind.Binary => "roc_auc", Kind.Multiclass => "macro_f1", _ => "rmse" };

        var clock = Stopwatch.StartNew();
        var candidates = new List<TrainerScore>();
        ITransformer? best = null;
        string? bestName = null;
        foreach (var (name, estimator) in Candidates(ml, kind))
        {
            var model = estimator.Fit(trainView);
            var score = Measure(kind, Predict(ml, model, testView, kind, labels.Length), test, classOf, targets, labels.Length).Metric;
            candidates.Add(new TrainerScore(name, score));
            if (best is null || (kind == Kind.Regression ? score < candidates.Single(c => c.Trainer == bestName).Metric : score > candidates.Single(c => c.Trainer == bestName).Metric))
            {
                best = model;
                bestName = name;
            }
        }

        var trainingSeconds = clock.Elapsed.TotalSeconds;
        var graph = Export(ml, best!, trainView, kind, data.FeatureNames.Count, labels.Length);

        // The report is the exported file's, as ONNX Runtime serves it.
        var served = RunOnnx(graph, data, test, kind == Kind.Regression ? 1 : labels.Length);
        var measured = Measure(kind, served, test, classOf, targets, labels.Length);
        var version = ModelVersions.Next(modelDirectory);
        var promotion = ModelVersions.Promote(modelDirectory, metric, metric.Replace('_', '-').Replace("roc-auc", "ROC AUC").Replace("macro-f1", "macro-F1").Replace("rmse", "RMSE"),
            measured.Metric, higherIsBetter: kind != Kind.Regression, options.Force);
        var report = new TabularReport
        {
            Model = options.Name,
            Version = version,
            Task = options.Task,
            Features = data.FeatureNames,
            Labels = labels,
            TrainRows = train.Length,
            TestRows = test.Length,
            Seed = options.Seed,
            Metric = metric,
            Candidates = candidates,
            Trainer = bestName!,
            RocAuc = measured.RocAuc,
            Accuracy = measured.Accuracy,
            MacroF1 = measured.MacroF1,
            Rmse = measured.Rmse,
            Mae = measured.Mae,
            TrainingSeconds = trainingSeconds,
            Promotion = promotion,
        };
        if (!promotion.Promoted)
        {
            return new TabularResult(null, report);
        }

        var written = ModelVersions.Write(repository, modelDirectory, version,
            staging =>
            {
                File.WriteAllText(Path.Combine(staging, ModelRepository.ConfigFileName), config);
                if (labels.Length > 0)
                {
                    File.WriteAllLines(Path.Combine(staging, LabelFile), labels);
                }
            },
            versionDirectory =>
            {
                OnnxModelEditor.Save(graph, Path.Combine(versionDirectory, ModelFile));
                File.WriteAllText(Path.Combine(versionDirectory, ModelVersions.ReportFile), report.ToJson());
            });
        return new TabularResult(written, report);
    }

    /// <summary>The model's config: JSON rows of the named features in (fields), probabilities with labels or a prediction out.</summary>
    public static ModelConfig Config(string name, IReadOnlyList<string> features, int classes, bool regression)
    {
        var config = new ModelConfig
        {
            Name = name,
            Platform = ModelConfig.OnnxPlatform,
            MaxBatchSize = 4096,
            Inputs = { new TensorConfig { Name = "features", DataType = DataType.FP32, Dims = [features.Count] } },
            Outputs =
            {
                regression
                    ? new TensorConfig { Name = "prediction", DataType = DataType.FP32, Dims = [1] }
                    : new TensorConfig { Name = "probabilities", DataType = DataType.FP32, Dims = [classes], LabelFilename = LabelFile },
            },
        };
        config.Parameters["pronto.prepare"] = "fields";
        config.Parameters["pronto.fields.names"] = string.Join(",", features);
        if (!regression)
        {
            config.Parameters["pronto.produce"] = "classify";
            config.Parameters["pronto.classify.output"] = "probabilities";
            config.Parameters["pronto.classify.activation"] = "none";
        }

        config.Parameters[InputValidator.RejectNonFiniteKey] = "true";
        return config;
    }

    private enum Kind
    {
        Binary,
        Multiclass,
        Regression,
    }

    private static IEnumerable<(string Name, IEstimator<ITransformer> Estimator)> Candidates(MLContext ml, Kind kind)
    {
        var normalize = ml.Transforms.NormalizeMinMax(FeaturesColumn);
        switch (kind)
        {
            case Kind.Binary:
                yield return ("fasttree", ml.BinaryClassification.Trainers.FastTree(new FastTreeBinaryTrainer.Options { LabelColumnName = LabelColumn, FeatureColumnName = FeaturesColumn, NumberOfThreads = 1 }));
                yield return ("sdca", normalize.Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression(new SdcaLogisticRegressionBinaryTrainer.Options { LabelColumnName = LabelColumn, FeatureColumnName = FeaturesColumn, NumberOfThreads = 1 })));
                break;
            case Kind.Multiclass:
                var key = ml.Transforms.Conversion.MapValueToKey(LabelColumn, keyOrdinality: Microsoft.ML.Transforms.ValueToKeyMappingEstimator.KeyOrdinality.ByValue);
                yield return ("fasttree", key.Append(ml.MulticlassClassification.Trainers.OneVersusAll(
                    ml.BinaryClassification.Trainers.FastTree(new FastTreeBinaryTrainer.Options { FeatureColumnName = FeaturesColumn, NumberOfThreads = 1 }), LabelColumn)));
                yield return ("sdca", key.Append(normalize).Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(new SdcaMaximumEntropyMulticlassTrainer.Options { LabelColumnName = LabelColumn, FeatureColumnName = FeaturesColumn, NumberOfThreads = 1 })));
                break;
            default:
                yield return ("fasttree", ml.Regression.Trainers.FastTree(new FastTreeRegressionTrainer.Options { LabelColumnName = LabelColumn, FeatureColumnName = FeaturesColumn, NumberOfThreads = 1 }));
                yield return ("sdca", normalize.Append(ml.Regression.Trainers.Sdca(new SdcaRegressionTrainer.Options { LabelColumnName = LabelColumn, FeatureColumnName = FeaturesColumn, NumberOfThreads = 1 })));
                break;
        }
    }

    private static IDataView View(MLContext ml, TabularData data, int[] rows, Kind kind, int[] classOf, float[] targets, string[] labels)
    {
        var width = data.FeatureNames.Count;
        var schema = kind switch
        {
            Kind.Binary => SchemaDefinition.Create(typeof(BinaryRow)),
            Kind.Multiclass => SchemaDefinition.Create(typeof(MulticlassRow)),
            _ => SchemaDefinition.Create(typeof(RegressionRow)),
        };
        schema[FeaturesColumn].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        return kind switch
        {
            Kind.Binary => ml.Data.LoadFromEnumerable(rows.Select(i => new BinaryRow { Features = data.Features[i], Label = classOf[i] == 1 }).ToArray(), schema),
            Kind.Multiclass => ml.Data.LoadFromEnumerable(rows.Select(i => new MulticlassRow { Features = data.Features[i], Label = labels[classOf[i]] }).ToArray(), schema),
            _ => ml.Data.LoadFromEnumerable(rows.Select(i => new RegressionRow { Features = data.Features[i], Label = targets[i] }).ToArray(), schema),
        };
    }

    /// <summary>Row-major scores of the held-out rows from the ML.NET model: [P(class)...] or [prediction].</summary>
    private static float[] Predict(MLContext ml, ITransformer model, IDataView test, Kind kind, int classes)
    {
        var scored = model.Transform(test);
        switch (kind)
        {
            case Kind.Binary:
                var p = ml.Data.CreateEnumerable<BinaryScore>(scored, reuseRowObject: false).Select(s => s.Probability).ToArray();
                return [.. p.SelectMany(v => new[] { 1 - v, v })];
            case Kind.Multiclass:
                return [.. ml.Data.CreateEnumerable<MulticlassScore>(scored, reuseRowObject: false).SelectMany(s => s.Score)];
            default:
                return [.. ml.Data.CreateEnumerable<RegressionScore>(scored, reuseRowObject: false).Select(s => s.Score)];
        }
    }

    private readonly record struct Measured(double Metric, double? RocAuc, double? Accuracy, double? MacroF1, double? Rmse, double? Mae);

    private static Measured Measure(Kind kind, float[] scores, int[] test, int[] classOf, float[] targets, int classes)
    {
        if (kind == Kind.Regression)
        {
            double squared = 0, absolute = 0;
            for (var j = 0; j < test.Length; j++)
            {
                var e = scores[j] - (double)targets[test[j]];
                squared += e * e;
                absolute += Math.Abs(e);
            }

            var rmse = Math.Sqrt(squared / test.Length);
            return new Measured(rmse, null, null, null, rmse, absolute / test.Length);
        }

        var truth = test.Select(i => classOf[i]).ToArray();
        var predicted = new int[test.Length];
        for (var j = 0; j < test.Length; j++)
        {
            var best = 0;
            for (var c = 1; c < classes; c++)
            {
                if (scores[(j * classes) + c] > scores[(j * classes) + best])
                {
                    best = c;
                }
            }

            predicted[j] = best;
        }

        var (accuracy, macroF1, _, _, _) = ClassificationReport.Measure(truth, predicted, classes);
        if (kind == Kind.Binary)
        {
            var auc = RocAuc.Compute([.. Enumerable.Range(0, test.Length).Select(j => scores[(j * 2) + 1])], [.. truth.Select(t => t == 1)]);
            return new Measured(auc, auc, accuracy, macroF1, null, null);
        }

        return new Measured(macroF1, null, accuracy, macroF1, null, null);
    }

    /// <summary>ML.NET's ONNX export rewritten to the serving contract (one input, one output, a symbolic batch dimension).</summary>
    private static ModelProto Export(MLContext ml, ITransformer model, IDataView train, Kind kind, int width, int classes)
    {
        using var raw = new MemoryStream();
        ml.Model.ConvertToOnnx(model, train, raw);
        var onnx = OnnxModelEditor.Load(raw.ToArray());
        var graph = onnx.Graph;
        if (kind == Kind.Binary)
        {
            FraudTrainer.ToServingContract(onnx, "features", "probabilities", BatchDimension);
            return onnx;
        }

        var score = graph.Output.FirstOrDefault(o => o.Name.StartsWith("Score.", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"ML.NET's export has no Score output: {string.Join(", ", graph.Output.Select(o => o.Name))}");
        var output = kind == Kind.Regression ? "prediction" : "probabilities";
        OnnxModelEditor.KeepOutputs(graph, score.Name);
        OnnxModelEditor.PruneUnused(graph);
        OnnxModelEditor.ClearValueInfo(graph);
        if (graph.Input.Count != 1)
        {
            throw new InvalidOperationException($"expected one input after pruning, found: {string.Join(", ", graph.Input.Select(i => i.Name))}");
        }

        OnnxModelEditor.RenameValue(graph, graph.Input[0].Name, "features");

        // [batch, classes] or [batch, 1] whatever rank the exporter gave the score.
        graph.Initializer.Add(OnnxModelEditor.Int64Tensor("output_shape", [2], [-1, kind == Kind.Regression ? 1 : classes]));
        graph.Node.Add(OnnxModelEditor.Node("Reshape", "to_output", [score.Name, "output_shape"], [output]));
        graph.Output.Clear();
        graph.Output.Add(OnnxModelEditor.TensorValue(output, TensorProto.Types.DataType.Float, BatchDimension, kind == Kind.Regression ? 1 : classes));
        graph.Input[0].Type.TensorType.Shape.Dim.Clear();
        graph.Input[0].Type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = BatchDimension });
        graph.Input[0].Type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = width });
        OnnxModelEditor.SetBatchDimension(onnx, BatchDimension);
        return onnx;
    }

    /// <summary>The held-out rows through the exported graph with Pronto's ONNX Runtime backend, row-major.</summary>
    private static float[] RunOnnx(ModelProto graph, TabularData data, int[] test, int width)
    {
        var path = Path.Combine(Path.GetTempPath(), $"pronto-train-{Guid.NewGuid():N}.onnx");
        try
        {
            OnnxModelEditor.Save(graph, path);
            var backend = new OnnxBackend(new OnnxBackendOptions { WarmupRuns = 0 });
            var config = backend.DeriveConfig("candidate", path);
            using var instance = backend.Load(config, path, CancellationToken.None);
            var features = data.FeatureNames.Count;
            var buffer = new float[test.Length * features];
            for (var j = 0; j < test.Length; j++)
            {
                data.Features[test[j]].CopyTo(buffer.AsSpan(j * features, features));
            }

            var outputName = graph.Graph.Output[0].Name;
            var result = instance.Run([new NamedTensor("features", Tensor.Create(buffer, test.Length, features))], [outputName], CancellationToken.None)[0].Tensor.ToArray<float>();
            return result.Length == test.Length * width ? result : throw new InvalidOperationException($"the exported model gave {result.Length} values for {test.Length} rows x {width}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed class BinaryRow
    {
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }

    private sealed class MulticlassRow
    {
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = "";
    }

    private sealed class RegressionRow
    {
        public float[] Features { get; set; } = [];

        public float Label { get; set; }
    }

    private sealed class BinaryScore
    {
        public float Probability { get; set; }
    }

    private sealed class MulticlassScore
    {
        public float[] Score { get; set; } = [];
    }

    private sealed class RegressionScore
    {
        public float Score { get; set; }
    }
}
