namespace Pronto.Models.Fraud;

/// <summary>What <see cref="FraudTrainer.Train"/> produced.</summary>
/// <param name="Seed">The seed used for data and training.</param>
/// <param name="TrainRows">Rows used for training.</param>
/// <param name="TestRows">Held-out rows used for <paramref name="RocAuc"/>.</param>
/// <param name="RocAuc">ROC AUC of the exported ONNX model (run by ONNX Runtime) on the held-out rows.</param>
/// <param name="TrainSeconds">Wall-clock seconds spent fitting the model (not data generation or export).</param>
/// <param name="ModelPath">Path of the written <c>1/model.onnx</c>.</param>
/// <param name="ModelCardPath">Path of the written <c>MODEL_CARD.md</c>.</param>
public sealed record FraudTrainingReport(
    int Seed,
    int TrainRows,
    int TestRows,
    double RocAuc,
    double TrainSeconds,
    string ModelPath,
    string ModelCardPath);
