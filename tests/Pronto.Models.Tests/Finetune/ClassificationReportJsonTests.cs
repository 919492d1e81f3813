using Pronto.Models.Finetune;

namespace Pronto.Models.Tests.Finetune;

/// <summary>report.json, written with Utf8JsonWriter (the NativeAOT binary has no reflection-based JSON): its exact text.</summary>
public sealed class ClassificationReportJsonTests
{
    [Fact]
    public void The_report_is_written_as_indented_json_with_every_field()
    {
        var report = new ClassificationReport
        {
            Model = "pets",
            Version = 2,
            BaseModel = "minilm",
            Labels = ["cat", "dög"],
            TrainExamples = 8,
            TestExamples = 4,
            Seed = 42,
            Accuracy = 0.75,
            MacroF1 = 0.7333333,
            Precision = [1, 0.5],
            Recall = [0.5, 1],
            Confusion = [[1, 1], [0, 2]],
            EmbeddingSeconds = 0.1234567,
            EmbeddingRowsPerSecond = 97.25,
            TrainingSeconds = 0.5,
        };

        Assert.Equal(
            """
            {
              "model": "pets",
              "version": 2,
              "base_model": "minilm",
              "seed": 42,
              "labels": [
                "cat",
                "d\u00F6g"
              ],
              "train_examples": 8,
              "test_examples": 4,
              "accuracy": 0.75,
              "macro_f1": 0.733333,
              "classes": {
                "cat": {
                  "precision": 1,
                  "recall": 0.5
                },
                "d\u00F6g": {
                  "precision": 0.5,
                  "recall": 1
                }
              },
              "confusion_matrix": [
                [
                  1,
                  1
                ],
                [
                  0,
                  2
                ]
              ],
              "embedding_seconds": 0.123457,
              "embedding_rows_per_second": 97.2,
              "training_seconds": 0.5
            }

            """.Replace("\r\n", "\n", StringComparison.Ordinal),
            report.ToJson().Replace(Environment.NewLine, "\n", StringComparison.Ordinal));
    }
}
