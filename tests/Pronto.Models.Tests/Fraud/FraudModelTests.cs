using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Pronto.Models.Fraud;
using Xunit;

namespace Pronto.Models.Tests.Fraud;

public sealed class FraudModelTests(FraudModelFixture fixture) : IClassFixture<FraudModelFixture>
{
    private const string RocAucPrefix = "ROC AUC (held-out): ";

    private readonly FraudModelFixture _fixture = fixture;

    [Fact]
    public void FeatureNames_AreTheContractOrder()
    {
        Assert.Equal(
            ["amount", "customer_avg_amount", "merchant_category", "hour", "distance_km", "txn_last_hour"],
            FraudFeatures.Names);
        var t = new Transaction(1, 2, 3, 4, 5, 6, IsFraud: true);
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], t.ToFeatures());
    }

    [Fact]
    public void Generator_SameSeed_GivesSameRows()
    {
        var a = new TransactionGenerator(7).Generate(5_000).ToArray();
        var b = new TransactionGenerator(7).Generate(5_000).ToArray();
        Assert.Equal(a, b);
    }

    [Fact]
    public void Generator_DifferentSeed_GivesDifferentRows()
    {
        var a = new TransactionGenerator(7).Generate(1_000).ToArray();
        var b = new TransactionGenerator(8).Generate(1_000).ToArray();

        // Continuous amounts make an accidental match of more than a handful of rows impossible.
        Assert.True(a.Zip(b).Count(p => p.First == p.Second) < 10);
    }

    [Fact]
    public void Generator_IsAStream_SuccessiveCallsContinueIt()
    {
        var split = new TransactionGenerator(3);
        var first = split.Generate(300).ToArray();
        var second = split.Generate(200).ToArray();
        var whole = new TransactionGenerator(3).Generate(500).ToArray();
        Assert.Equal(whole, first.Concat(second));
    }

    [Fact]
    public void Generator_FraudRate_AndFeatureRanges_AreRealistic()
    {
        var rows = new TransactionGenerator(11).Generate(200_000).ToArray();

        // Base rate is 3 %; with 200k draws the binomial standard error is ~0.04 %, so [2.5 %, 3.5 %] is safe.
        var fraudRate = rows.Count(r => r.IsFraud) / (double)rows.Length;
        Assert.InRange(fraudRate, 0.025, 0.035);

        Assert.All(rows, r =>
        {
            Assert.InRange(r.Amount, 0.5f, 1e6f);
            Assert.InRange(r.CustomerAvgAmount, 5f, 1500f);
            Assert.InRange(r.MerchantCategory, 0f, TransactionGenerator.CategoryCount - 1);
            Assert.Equal(MathF.Floor(r.MerchantCategory), r.MerchantCategory);
            Assert.InRange(r.Hour, 0f, 23f);
            Assert.InRange(r.DistanceKm, 0f, 20_000f);
            Assert.InRange(r.TxnLastHour, 0f, 100f);
        });

        // The signals point the right way on average (the generative story holds).
        var fraud = rows.Where(r => r.IsFraud).ToArray();
        var legit = rows.Where(r => !r.IsFraud).ToArray();
        Assert.True(fraud.Average(r => r.TxnLastHour) > 2 * legit.Average(r => r.TxnLastHour));
        Assert.True(Median(fraud.Select(r => r.DistanceKm)) > Median(legit.Select(r => r.DistanceKm)));
        Assert.True(fraud.Count(r => r.Hour < 6) / (double)fraud.Length > 3 * legit.Count(r => r.Hour < 6) / (double)legit.Length);
    }

    [Fact]
    public void ExportedModel_HasExactlyOneFeaturesInputAndOneProbabilitiesOutput()
    {
        using var session = new InferenceSession(_fixture.Report.ModelPath);

        var input = Assert.Single(session.InputMetadata);
        Assert.Equal("features", input.Key);
        Assert.Equal(TensorElementType.Float, input.Value.ElementDataType);
        Assert.Equal([-1, 6], input.Value.Dimensions);
        Assert.False(string.IsNullOrEmpty(input.Value.SymbolicDimensions[0]));

        var output = Assert.Single(session.OutputMetadata);
        Assert.Equal("probabilities", output.Key);
        Assert.Equal(TensorElementType.Float, output.Value.ElementDataType);
        Assert.Equal([-1, 2], output.Value.Dimensions);
        Assert.False(string.IsNullOrEmpty(output.Value.SymbolicDimensions[0]));
    }

    [Fact]
    public void Probabilities_RowsSumToOne()
    {
        var rows = new TransactionGenerator(5).Generate(1_000).ToArray();
        using var session = new InferenceSession(_fixture.Report.ModelPath);
        var probabilities = Run(session, rows);

        Assert.Equal(rows.Length * 2, probabilities.Length);
        for (var i = 0; i < rows.Length; i++)
        {
            Assert.InRange(probabilities[2 * i], 0f, 1f);
            Assert.InRange(probabilities[(2 * i) + 1], 0f, 1f);
            Assert.Equal(1.0, probabilities[2 * i] + probabilities[(2 * i) + 1], 1e-5);
        }
    }

    [Fact]
    public void BatchOfThree_EqualsThreeSingleRowRuns()
    {
        // Pick one clear fraud, one legit and one in between so the rows differ.
        var rows = new TransactionGenerator(9).Generate(100).Where(r => r.IsFraud).Take(1)
            .Concat(new TransactionGenerator(9).Generate(2))
            .ToArray();
        using var session = new InferenceSession(_fixture.Report.ModelPath);

        var batched = Run(session, rows);
        var singles = rows.SelectMany(r => Run(session, [r])).ToArray();

        Assert.Equal(singles, batched);
    }

    [Fact]
    public void HeldOutRocAuc_FromOnnxArtefact_MatchesModelCard()
    {
        // The held-out rows are the 20k rows after the 60k training rows of the seed-42 stream.
        var generator = new TransactionGenerator(_fixture.Options.Seed);
        _ = generator.Generate(_fixture.Options.TrainRows);
        var heldOut = generator.Generate(_fixture.Options.TestRows).ToArray();

        var auc = FraudTrainer.Evaluate(_fixture.Report.ModelPath, heldOut);

        Assert.Equal(_fixture.Report.RocAuc, auc, 1e-9);
        Assert.InRange(auc, 0.90, 0.99);
        Assert.True(auc >= ReadCardRocAuc(CommittedModelCard()) - 0.01, $"Held-out ROC AUC {auc:F4} is below the committed model card's figure.");
    }

    [Fact]
    public void Training_AtDefaults_WritesTheArtefacts()
    {
        var report = _fixture.Report;
        Assert.Equal(42, report.Seed);
        Assert.Equal(60_000, report.TrainRows);
        Assert.Equal(20_000, report.TestRows);

        // Training time is measured, not asserted (a test never asserts a time): `pronto train` prints it.
        Assert.Equal(Path.Combine(_fixture.Directory, "1", "model.onnx"), report.ModelPath);
        Assert.True(File.Exists(report.ModelPath));
    }

    [Fact]
    public void GeneratedModelCard_ReportsTheMeasuredRocAuc_LikeTheCommittedCard()
    {
        var generated = File.ReadAllText(Path.Combine(_fixture.Directory, "MODEL_CARD.md"));
        Assert.Equal(Math.Round(_fixture.Report.RocAuc, 4), ReadCardRocAuc(generated), 1e-9);
        Assert.Contains("## Intended use", generated, StringComparison.Ordinal);
        Assert.Contains("## Limitations", generated, StringComparison.Ordinal);

        // The committed copy was produced at the defaults, so it must not be stale: same figure give or
        // take 0.005 (room for floating-point differences between platforms, not for a changed model).
        Assert.Equal(ReadCardRocAuc(generated), ReadCardRocAuc(CommittedModelCard()), 0.005);
    }

    [Fact]
    public void Training_SameOptions_GivesByteIdenticalModel()
    {
        // Small data keeps this fast; determinism does not depend on size.
        var options = new FraudTrainingOptions { TrainRows = 5_000, TestRows = 1_000 };
        var root = Path.Combine(Path.GetTempPath(), "pronto-fraud-det-" + Guid.NewGuid().ToString("N"));
        try
        {
            var a = FraudTrainer.Train(options, Path.Combine(root, "a"));
            var b = FraudTrainer.Train(options, Path.Combine(root, "b"));
            var c = FraudTrainer.Train(options with { Seed = 43 }, Path.Combine(root, "c"));

            Assert.Equal(File.ReadAllBytes(a.ModelPath), File.ReadAllBytes(b.ModelPath));
            Assert.Equal(File.ReadAllText(a.ModelCardPath), File.ReadAllText(b.ModelCardPath));
            Assert.NotEqual(File.ReadAllBytes(a.ModelPath), File.ReadAllBytes(c.ModelPath));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void RocAuc_PerfectRanking_IsOne() =>
        Assert.Equal(1.0, RocAuc.Compute([0.1f, 0.2f, 0.8f, 0.9f], [false, false, true, true]));

    [Fact]
    public void RocAuc_ReversedRanking_IsZero() =>
        Assert.Equal(0.0, RocAuc.Compute([0.9f, 0.8f, 0.2f, 0.1f], [false, false, true, true]));

    [Fact]
    public void RocAuc_AllScoresTied_IsOneHalf() =>
        Assert.Equal(0.5, RocAuc.Compute([0.3f, 0.3f, 0.3f, 0.3f], [true, false, true, false]));

    [Fact]
    public void RocAuc_HandComputedCases()
    {
        // Positives 0.35 and 0.8 vs negatives 0.1 and 0.4: 0.35 beats 0.1 only, 0.8 beats both -> 3 of 4 pairs.
        Assert.Equal(0.75, RocAuc.Compute([0.1f, 0.4f, 0.35f, 0.8f], [false, false, true, true]));

        // Positive 0.5 ties negative 0.5 (half a pair) and beats 0.2; positive 0.9 beats both -> 3.5 of 4 pairs.
        Assert.Equal(0.875, RocAuc.Compute([0.5f, 0.5f, 0.2f, 0.9f], [true, false, false, true]));
    }

    [Fact]
    public void RocAuc_RejectsSingleClassAndMismatchedLengths()
    {
        Assert.Throws<ArgumentException>(() => RocAuc.Compute([0.1f, 0.2f], [true, true]));
        Assert.Throws<ArgumentException>(() => RocAuc.Compute([0.1f, 0.2f], [true]));
    }

    private static float[] Run(InferenceSession session, IReadOnlyList<Transaction> rows)
    {
        var features = rows.SelectMany(r => r.ToFeatures()).ToArray();
        using var input = OrtValue.CreateTensorValueFromMemory(features, [rows.Count, FraudFeatures.Count]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["features"], [input], ["probabilities"]);
        Assert.Equal([rows.Count, 2L], outputs[0].GetTensorTypeAndShape().Shape);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static double ReadCardRocAuc(string card)
    {
        var line = card.Split('\n').Single(l => l.StartsWith(RocAucPrefix, StringComparison.Ordinal));
        return double.Parse(line[RocAucPrefix.Length..].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    private static string CommittedModelCard()
    {
        // The test project copies src/Pronto.Models/Fraud/MODEL_CARD.md to Fraud/ in its output;
        // fall back to walking up to the repository for runs without that item.
        var copied = Path.Combine(AppContext.BaseDirectory, "Fraud", "MODEL_CARD.md");
        if (File.Exists(copied))
        {
            return File.ReadAllText(copied);
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "src", "Pronto.Models", "Fraud", "MODEL_CARD.md");
            if (File.Exists(candidate))
            {
                return File.ReadAllText(candidate);
            }
        }

        throw new FileNotFoundException("Committed MODEL_CARD.md not found next to the tests or in the repository.");
    }

    private static double Median(IEnumerable<float> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
