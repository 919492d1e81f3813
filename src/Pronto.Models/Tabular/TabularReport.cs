using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Pronto.Models.Tabular;

/// <summary>One trainer tried on the training split, with its held-out metric.</summary>
public sealed record TrainerScore(string Trainer, double Metric);

/// <summary>What <c>pronto train</c> measured: the trainers tried, the one chosen, and the served model's held-out metrics (report.json).</summary>
public sealed class TabularReport
{
    public required string Model { get; init; }

    public required long Version { get; init; }

    public required string Task { get; init; }

    public required IReadOnlyList<string> Features { get; init; }

    /// <summary>Class labels in the model's output order (empty for regression).</summary>
    public required IReadOnlyList<string> Labels { get; init; }

    public required int TrainRows { get; init; }

    public required int TestRows { get; init; }

    public required ulong Seed { get; init; }

    /// <summary>The metric that chooses the trainer and decides promotion: roc_auc (binary), macro_f1 (multiclass), rmse (regression).</summary>
    public required string Metric { get; init; }

    public required IReadOnlyList<TrainerScore> Candidates { get; init; }

    public required string Trainer { get; init; }

    /// <summary>Held-out metrics of the exported ONNX model as ONNX Runtime runs it (null where they do not apply).</summary>
    public double? RocAuc { get; init; }

    public double? Accuracy { get; init; }

    public double? MacroF1 { get; init; }

    public double? Rmse { get; init; }

    public double? Mae { get; init; }

    public required double TrainingSeconds { get; init; }

    public ModelPromotion? Promotion { get; init; }

    /// <summary>The served model's value of <see cref="Metric"/>.</summary>
    public double MetricValue => Metric switch
    {
        "roc_auc" => RocAuc!.Value,
        "macro_f1" => MacroF1!.Value,
        _ => Rmse!.Value,
    };

    public string ToJson()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("model", Model);
            w.WriteNumber("version", Version);
            w.WriteString("task", Task);
            w.WriteNumber("seed", Seed);
            w.WriteStartArray("features");
            foreach (var f in Features)
            {
                w.WriteStringValue(f);
            }

            w.WriteEndArray();
            w.WriteStartArray("labels");
            foreach (var l in Labels)
            {
                w.WriteStringValue(l);
            }

            w.WriteEndArray();
            w.WriteNumber("train_rows", TrainRows);
            w.WriteNumber("test_rows", TestRows);
            w.WriteString("metric", Metric);
            w.WriteStartObject("candidates");
            foreach (var c in Candidates)
            {
                w.WriteNumber(c.Trainer, Round(c.Metric));
            }

            w.WriteEndObject();
            w.WriteString("trainer", Trainer);
            foreach (var (key, value) in Metrics())
            {
                w.WriteNumber(key, Round(value));
            }

            w.WriteNumber("training_seconds", Round(TrainingSeconds));
            if (Promotion is { } promotion)
            {
                ModelVersions.WritePromotion(w, promotion, Metric);
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan) + "\n";
    }

    public string ToText()
    {
        var c = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        s.Append(c, $"{Model} version {Version} ({Task}{(Labels.Count > 0 ? $", {Labels.Count} classes" : "")}, seed {Seed}): {TrainRows} training / {TestRows} held-out rows, {Features.Count} features\n");
        s.Append("trainers (held-out ").Append(Metric).Append("): ")
            .AppendJoin(", ", Candidates.Select(t => string.Create(c, $"{t.Trainer} {t.Metric:0.0000}"))).Append(c, $"; chosen: {Trainer}\n");
        s.Append("held-out ").AppendJoin(", ", Metrics().Select(m => string.Create(c, $"{m.Key} {m.Value:0.0000}"))).Append('\n');
        s.Append(c, $"training {TrainingSeconds:0.00} s\n");
        if (Promotion is { } promotion)
        {
            s.Append(promotion.Promoted ? "promoted: " : "not promoted: ").Append(promotion.Reason).Append('\n');
        }

        return s.ToString();
    }

    private IEnumerable<KeyValuePair<string, double>> Metrics()
    {
        foreach (var (key, value) in new (string, double?)[] { ("roc_auc", RocAuc), ("accuracy", Accuracy), ("macro_f1", MacroF1), ("rmse", Rmse), ("mae", Mae) })
        {
            if (value is { } v)
            {
                yield return new KeyValuePair<string, double>(key, v);
            }
        }
    }

    private static double Round(double v) => Math.Round(v, 6);
}
