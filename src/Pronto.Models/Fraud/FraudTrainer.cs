using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;
using Pronto.Onnx;
using Microsoft.ML.Trainers.FastTree;
using Pronto.Models.Onnx;

namespace Pronto.Models.Fraud;

/// <summary>
/// Trains Pronto's card-fraud model (ML.NET FastTree gradient-boosted trees on
/// <see cref="TransactionGenerator"/> data), exports it to ONNX with Pronto's serving contract
/// (one input <c>features</c> FP32 [batch, 6], one output <c>probabilities</c> FP32 [batch, 2])
/// and evaluates the exported artefact with ONNX Runtime.
/// </summary>
public static class FraudTrainer
{
    /// <summary>Model version folder written under the model directory (repository layout <c>&lt;dir&gt;/1/model.onnx</c>).</summary>
    public const string ModelVersion = "1";

    /// <summary>File name of the exported model inside the version folder.</summary>
    public const string ModelFileName = "model.onnx";

    /// <summary>File name of the model card written to the model directory.</summary>
    public const string ModelCardFileName = "MODEL_CARD.md";

    // Rows per ONNX Runtime call when scoring; bounds memory, big enough to amortise call overhead.
    private const int ScoringBatchSize = 4096;

    // ML.NET column names used during training and by the raw ONNX export.
    private const string FeaturesColumn = "Features";
    private const string LabelColumn = "Label";
    private const string ProbabilityColumn = "Probability";

    /// <summary>
    /// Generates <see cref="FraudTrainingOptions.TrainRows"/> then <see cref="FraudTrainingOptions.TestRows"/>
    /// rows from one <see cref="TransactionGenerator"/> stream seeded with <see cref="FraudTrainingOptions.Seed"/>,
    /// trains on the first part, and writes <c>&lt;modelDirectory&gt;/1/model.onnx</c> and
    /// <c>&lt;modelDirectory&gt;/MODEL_CARD.md</c>. The reported ROC AUC is measured on the held-out rows by
    /// running the written ONNX file. Same options give a byte-identical <c>model.onnx</c>.
    /// </summary>
    public static FraudTrainingReport Train(FraudTrainingOptions options, string modelDirectory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelDirectory);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.TrainRows, 100, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.TestRows, 100, nameof(options));
        if (!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported)
        {
            // ML.NET builds its row mappers with run-time code generation, which a NativeAOT process does not have.
            Core.Errors.ProntoErrors.Unsupported("training the fraud model needs ML.NET, which cannot run in the NativeAOT pronto binary; "
                + "train it (or prepare the bundled repository) once with the ReadyToRun binary (scripts/install-pronto) or dotnet run, "
                + "or pass --model-repository with a prepared repository");
        }

        var generator = new TransactionGenerator(options.Seed);
        var trainRows = generator.Generate(options.TrainRows).ToArray();
        var testRows = generator.Generate(options.TestRows).ToArray();

        var ml = new MLContext(options.Seed);
        var trainData = ml.Data.LoadFromEnumerable(trainRows.Select(TrainingRow.From));
        var trainer = ml.BinaryClassification.Trainers.FastTree(new FastTreeBinaryTrainer.Options
        {
            LabelColumnName = LabelColumn,
            FeatureColumnName = FeaturesColumn,
            NumberOfTrees = options.NumberOfTrees,
            NumberOfLeaves = options.NumberOfLeaves,
            MinimumExampleCountPerLeaf = options.MinimumExampleCountPerLeaf,
            LearningRate = options.LearningRate,
            Seed = options.Seed,

            // One thread: parallel histogram building can change float summation order, and the
            // model must be byte-identical run to run. 60k rows still train in a few seconds.
            NumberOfThreads = 1,
        });

        var stopwatch = Stopwatch.StartNew();
        var model = trainer.Fit(trainData);
        stopwatch.Stop();

        var versionDirectory = Path.Combine(modelDirectory, ModelVersion);
        Directory.CreateDirectory(versionDirectory);
        var modelPath = Path.Combine(versionDirectory, ModelFileName);

        using (var raw = new MemoryStream())
        {
            ml.Model.ConvertToOnnx(model, trainData, raw);
            var onnx = OnnxModelEditor.Load(raw.ToArray());
            ToServingContract(onnx, FraudFeatures.InputName, FraudFeatures.OutputName, FraudFeatures.BatchDimension);
            OnnxModelEditor.Save(onnx, modelPath);
        }

        var rocAuc = Evaluate(modelPath, testRows);
        var cardPath = Path.Combine(modelDirectory, ModelCardFileName);
        var report = new FraudTrainingReport(
            options.Seed,
            trainRows.Length,
            testRows.Length,
            rocAuc,
            stopwatch.Elapsed.TotalSeconds,
            modelPath,
            cardPath);
        var trainFraudRate = trainRows.Count(t => t.IsFraud) / (double)trainRows.Length;
        File.WriteAllText(cardPath, FraudModelCard.Render(options, report, trainFraudRate));
        return report;
    }

    /// <summary>
    /// ROC AUC of the ONNX model at <paramref name="modelPath"/> on <paramref name="rows"/>, scoring
    /// P(fraud) with ONNX Runtime in batches. Checks the exported artefact, not an in-memory model.
    /// </summary>
    public static double Evaluate(string modelPath, IReadOnlyList<Transaction> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var scores = PredictFraudProbabilities(modelPath, rows);
        return RocAuc.Compute(scores, rows.Select(r => r.IsFraud).ToArray());
    }

    /// <summary>P(fraud) for each row, from the ONNX model at <paramref name="modelPath"/> run by Pronto's ONNX Runtime backend.</summary>
    public static float[] PredictFraudProbabilities(string modelPath, IReadOnlyList<Transaction> rows)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        ArgumentNullException.ThrowIfNull(rows);

        var backend = new OnnxBackend(new OnnxBackendOptions { WarmupRuns = 0 });
        var config = backend.DeriveConfig("fraud", modelPath);
        using var instance = backend.Load(config, modelPath, CancellationToken.None);

        var result = new float[rows.Count];
        string[] outputNames = [FraudFeatures.OutputName];
        for (var start = 0; start < rows.Count; start += ScoringBatchSize)
        {
            var count = Math.Min(ScoringBatchSize, rows.Count - start);
            var buffer = new float[count * FraudFeatures.Count];
            for (var i = 0; i < count; i++)
            {
                rows[start + i].CopyFeaturesTo(buffer.AsSpan(i * FraudFeatures.Count, FraudFeatures.Count));
            }

            var input = new NamedTensor(FraudFeatures.InputName, Tensor.Create(buffer, count, FraudFeatures.Count));
            var probabilities = instance.Run([input], outputNames, CancellationToken.None)[0].Tensor.Span<float>();

            // Column 1 of [P(legit), P(fraud)].
            for (var i = 0; i < count; i++)
            {
                result[start + i] = probabilities[(i * 2) + 1];
            }
        }

        return result;
    }

    /// <summary>
    /// Rewrites ML.NET's export of a binary classifier (one input per column, one output per column) into the
    /// serving contract: input <paramref name="input"/> FP32 [batch, features] and output <paramref name="output"/>
    /// FP32 [batch, 2] = [1 - p, p] (fraud: <c>features</c> [batch, 6] -> <c>probabilities</c>; also pronto train's).
    /// </summary>
    internal static void ToServingContract(ModelProto model, string input, string output, string batchDimension)
    {
        var graph = model.Graph;
        var probability = graph.Output.FirstOrDefault(o => o.Name.StartsWith(ProbabilityColumn + ".", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"ML.NET export has no {ProbabilityColumn} output.");

        // Keep only what P(fraud) needs: this drops the Label input and the Score/PredictedLabel/column copies.
        OnnxModelEditor.KeepOutputs(graph, probability.Name);
        OnnxModelEditor.PruneUnused(graph);
        OnnxModelEditor.ClearValueInfo(graph);
        if (graph.Input.Count != 1)
        {
            throw new InvalidOperationException(
                $"Expected one input after pruning, found: {string.Join(", ", graph.Input.Select(i => i.Name))}.");
        }

        OnnxModelEditor.RenameValue(graph, graph.Input[0].Name, input);

        // probabilities = Concat([1 - p, p], axis 1), with p reshaped to [batch, 1] whatever the exporter's rank.
        const string fraudColumn = "fraud_probability";
        const string legitColumn = "legit_probability";
        graph.Initializer.Add(OnnxModelEditor.Int64Tensor("column_shape", [2], [-1, 1]));
        graph.Initializer.Add(OnnxModelEditor.FloatTensor("one", [], [1f]));
        graph.Node.Add(OnnxModelEditor.Node("Reshape", "to_column", [probability.Name, "column_shape"], [fraudColumn]));
        graph.Node.Add(OnnxModelEditor.Node("Sub", "legit_from_fraud", ["one", fraudColumn], [legitColumn]));
        graph.Node.Add(OnnxModelEditor.Node(
            "Concat",
            "to_probabilities",
            [legitColumn, fraudColumn],
            [output],
            OnnxModelEditor.IntAttribute("axis", 1)));

        graph.Output.Clear();
        graph.Output.Add(OnnxModelEditor.TensorValue(output, TensorProto.Types.DataType.Float, batchDimension, 2));
        OnnxModelEditor.SetBatchDimension(model, batchDimension);
    }

    /// <summary>ML.NET view of a transaction: the feature vector and the label.</summary>
    private sealed class TrainingRow
    {
        [VectorType(FraudFeatures.Count)]
        [ColumnName(FeaturesColumn)]
        public float[] Features { get; set; } = [];

        [ColumnName(LabelColumn)]
        public bool Label { get; set; }

        public static TrainingRow From(Transaction transaction) =>
            new() { Features = transaction.ToFeatures(), Label = transaction.IsFraud };
    }
}
