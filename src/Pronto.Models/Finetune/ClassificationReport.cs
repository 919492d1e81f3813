using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Pronto.Models.Finetune;

/// <summary>Held-out metrics of a fine-tuned head, and how long it took: what <c>report.json</c> holds.</summary>
public sealed class ClassificationReport
{
    public required string Model { get; init; }

    public required long Version { get; init; }

    public required string BaseModel { get; init; }

    public required IReadOnlyList<string> Labels { get; init; }

    public required int TrainExamples { get; init; }

    public required int TestExamples { get; init; }

    public required ulong Seed { get; init; }

    public required double Accuracy { get; init; }

    public required double MacroF1 { get; init; }

    public required double[] Precision { get; init; }

    public required double[] Recall { get; init; }

    /// <summary>Rows are the true class, columns the predicted one, both in <see cref="Labels"/> order.</summary>
    public required int[][] Confusion { get; init; }

    public required double EmbeddingSeconds { get; init; }

    public required double EmbeddingRowsPerSecond { get; init; }

    public required double TrainingSeconds { get; init; }

    /// <summary>Whether this version went live, and why (see <see cref="ModelPromotion"/>).</summary>
    public ModelPromotion? Promotion { get; init; }

    /// <summary>Metrics of predictions against truth over <paramref name="classes"/> classes.</summary>
    public static (double Accuracy, double MacroF1, double[] Precision, double[] Recall, int[][] Confusion) Measure(int[] truth, int[] predicted, int classes)
    {
        var confusion = new int[classes][];
        for (var c = 0; c < classes; c++)
        {
            confusion[c] = new int[classes];
        }

        var correct = 0;
        for (var i = 0; i < truth.Length; i++)
        {
            confusion[truth[i]][predicted[i]]++;
            correct += truth[i] == predicted[i] ? 1 : 0;
        }

        var precision = new double[classes];
        var recall = new double[classes];
        var f1 = 0.0;
        for (var c = 0; c < classes; c++)
        {
            var tp = confusion[c][c];
            var predictedC = 0;
            var actualC = 0;
            for (var o = 0; o < classes; o++)
            {
                predictedC += confusion[o][c];
                actualC += confusion[c][o];
            }

            // A class never predicted has precision 0 (scikit-learn's zero_division=0).
            precision[c] = predictedC == 0 ? 0 : tp / (double)predictedC;
            recall[c] = actualC == 0 ? 0 : tp / (double)actualC;
            f1 += precision[c] + recall[c] == 0 ? 0 : 2 * precision[c] * recall[c] / (precision[c] + recall[c]);
        }

        return (truth.Length == 0 ? 0 : correct / (double)truth.Length, f1 / classes, precision, recall, confusion);
    }

    /// <summary>The report as report.json holds it (written by hand, not by reflection, so the NativeAOT binary writes it too).</summary>
    public string ToJson()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("model", Model);
            w.WriteNumber("version", Version);
            w.WriteString("base_model", BaseModel);
            w.WriteNumber("seed", Seed);
            w.WriteStartArray("labels");
            foreach (var label in Labels)
            {
                w.WriteStringValue(label);
            }

            w.WriteEndArray();
            w.WriteNumber("train_examples", TrainExamples);
            w.WriteNumber("test_examples", TestExamples);
            w.WriteNumber("accuracy", Round(Accuracy));
            w.WriteNumber("macro_f1", Round(MacroF1));
            w.WriteStartObject("classes");
            for (var c = 0; c < Labels.Count; c++)
            {
                w.WriteStartObject(Labels[c]);
                w.WriteNumber("precision", Round(Precision[c]));
                w.WriteNumber("recall", Round(Recall[c]));
                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteStartArray("confusion_matrix");
            foreach (var row in Confusion)
            {
                w.WriteStartArray();
                foreach (var count in row)
                {
                    w.WriteNumberValue(count);
                }

                w.WriteEndArray();
            }

            w.WriteEndArray();
            w.WriteNumber("embedding_seconds", Round(EmbeddingSeconds));
            w.WriteNumber("embedding_rows_per_second", Math.Round(EmbeddingRowsPerSecond, 1));
            w.WriteNumber("training_seconds", Round(TrainingSeconds));
            if (Promotion is { } promotion)
            {
                ModelVersions.WritePromotion(w, promotion, "macro_f1");
            }
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan) + "\n";
    }

    /// <summary>The report as the command prints it.</summary>
    public string ToText()
    {
        var c = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        s.Append(c, $"{Model} version {Version} (base {BaseModel}, seed {Seed}): {TrainExamples} training / {TestExamples} held-out examples, {Labels.Count} classes\n");
        s.Append(c, $"held-out accuracy {Accuracy:0.0000}, macro-F1 {MacroF1:0.0000}\n");
        var width = Math.Max(5, Labels.Max(l => l.Length));
        s.Append("class".PadRight(width)).Append("  precision  recall\n");
        for (var k = 0; k < Labels.Count; k++)
        {
            s.Append(Labels[k].PadRight(width)).Append(c, $"  {Precision[k],9:0.0000}  {Recall[k],6:0.0000}\n");
        }

        s.Append("confusion matrix (rows: true, columns: predicted, in the order above)\n");
        foreach (var row in Confusion)
        {
            s.Append("  ").AppendJoin(' ', row.Select(v => v.ToString(c).PadLeft(5))).Append('\n');
        }

        s.Append(c, $"embedding {TrainExamples + TestExamples} rows in {EmbeddingSeconds:0.00} s ({EmbeddingRowsPerSecond:0} rows/s), training {TrainingSeconds:0.00} s\n");
        if (Promotion is { } promotion)
        {
            s.Append(promotion.Promoted ? "promoted: " : "not promoted: ").Append(promotion.Reason).Append('\n');
        }

        return s.ToString();
    }

    private static double Round(double v) => Math.Round(v, 6);
}
