using System.Globalization;
using System.Text;

namespace Pronto.Models.Fraud;

/// <summary>
/// Renders <c>MODEL_CARD.md</c> for a trained fraud model. The text depends only on the options and
/// the measured metrics (no timings, no dates), so retraining with the same options reproduces it exactly.
/// </summary>
internal static class FraudModelCard
{
    /// <summary>Prefix of the metric line; tests and tooling parse the figure after it.</summary>
    public const string RocAucLinePrefix = "ROC AUC (held-out): ";

    public static string Render(FraudTrainingOptions options, FraudTrainingReport report, double trainFraudRate)
    {
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        void Line(string text = "") => md.Append(text).Append('\n');

        Line("# Model card: Pronto card-transaction fraud model");
        Line();
        Line("## Intended use");
        Line();
        Line("Scores a single card transaction with the probability that it is fraudulent. It is Pronto's own");
        Line("demonstration and test model for tabular inference (batching, latency, contract checks). It is trained");
        Line("on synthetic data only and must not be used to make decisions about real transactions or people.");
        Line();
        Line("## Interface");
        Line();
        Line($"- Input `{FraudFeatures.InputName}`: FP32 `[{FraudFeatures.BatchDimension}, {FraudFeatures.Count}]`, one row per transaction, features in the order below.");
        Line($"- Output `{FraudFeatures.OutputName}`: FP32 `[{FraudFeatures.BatchDimension}, 2]` = `[P(legit), P(fraud)]`; each row sums to 1.");
        Line($"- File: `{FraudTrainer.ModelVersion}/{FraudTrainer.ModelFileName}` (ONNX, opsets `ai.onnx` and `ai.onnx.ml`).");
        Line();
        Line("## Features");
        Line();
        Line("| # | Name | Meaning |");
        Line("|---|------|---------|");
        Line("| 0 | `amount` | Transaction amount (card currency, cents precision, minimum 0.50). |");
        Line("| 1 | `customer_avg_amount` | The customer's usual ticket (average past amount). |");
        Line("| 2 | `merchant_category` | Integer code as float: 0 grocery, 1 fuel, 2 restaurants, 3 online retail, 4 electronics, 5 travel, 6 gambling, 7 crypto / gift cards. |");
        Line("| 3 | `hour` | Local hour of day, 0..23. |");
        Line("| 4 | `distance_km` | Distance from the customer's home in km (card-not-present: IP geolocation), 0.1 km steps. |");
        Line("| 5 | `txn_last_hour` | Number of this card's transactions in the previous hour. |");
        Line();
        Line("## Training data: the synthetic generator");
        Line();
        Line("`TransactionGenerator` (SplitMix64 PRNG, fully determined by the seed) draws each transaction independently:");
        Line();
        Line($"- Fraud base rate {TransactionGenerator.FraudRate.ToString("P0", c)} (observed in the training rows: {trainFraudRate.ToString("P2", c)}).");
        Line("- Customer's usual ticket ~ LogNormal(ln 40, 0.75), clamped to [5, 1500].");
        Line("- **Legit**: everyday category mix (grocery 28 %, online retail 22 %, restaurants 20 %, fuel 14 %,");
        Line("  electronics 5 %, travel 4 %, gambling 4 %, crypto / gift cards 3 %); amount = usual ticket x category");
        Line("  factor (electronics 3x, travel 4x, restaurants 0.7x, ...) x LogNormal(0, 0.55); hour from a diurnal");
        Line("  curve (quiet at night); distance a few km from home, 7 % while travelling (~150 km median);");
        Line("  velocity ~ Poisson(0.4), with 3 % shopping sprees ~ Poisson(2.5).");
        Line("- **Fraud** shows each signal only with some probability, so classes overlap:");
        Line("  risky category (electronics, travel, gambling, crypto / gift cards) 45 %;");
        Line("  amount: card test 0.50-5.00 (15 %), ~3.5x the usual ticket (55 %), or legit-like (30 %);");
        Line("  night hour 0-5 (35 %); far from home, ~800 km median (40 %); velocity burst 3 + Poisson(3) (30 %).");
        Line();
        Line("## Training");
        Line();
        Line($"- Seed: {report.Seed.ToString(c)}");
        Line($"- Training rows: {report.TrainRows.ToString(c)} (the first rows of the generator stream)");
        Line($"- Test rows: {report.TestRows.ToString(c)} (the next rows of the same stream; never seen in training)");
        Line($"- Algorithm: ML.NET FastTree binary classifier (gradient-boosted decision trees), {options.NumberOfTrees.ToString(c)} trees,");
        Line($"  {options.NumberOfLeaves.ToString(c)} leaves, learning rate {options.LearningRate.ToString(c)}, at least {options.MinimumExampleCountPerLeaf.ToString(c)} rows per leaf, one thread (deterministic).");
        Line("- Export: ML.NET ONNX converter, then rewritten to the single-input / single-output contract above.");
        Line();
        Line("## Evaluation");
        Line();
        Line("Measured by running the exported ONNX file with ONNX Runtime on the held-out rows:");
        Line();
        Line(RocAucLinePrefix + report.RocAuc.ToString("F4", c));
        Line();
        Line("## Limitations");
        Line();
        Line("- Synthetic data: the signals and their strengths are invented (see the generator above); real fraud");
        Line("  drifts, is adversarial and has far richer context. Performance here says nothing about real traffic.");
        Line("- Transactions are independent draws: there are no real card histories, so velocity and the usual");
        Line("  ticket are given as features rather than computed.");
        Line("- Probabilities reflect the 3 % synthetic base rate and are not calibrated for any real portfolio.");
        Line("- `merchant_category` is a code, not a magnitude; unknown codes (outside 0..7) give undefined scores.");
        return md.ToString();
    }
}
