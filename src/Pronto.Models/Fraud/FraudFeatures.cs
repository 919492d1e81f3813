namespace Pronto.Models.Fraud;

/// <summary>
/// The fraud model's input contract: six FP32 features per transaction, in this exact order.
/// The exported ONNX model takes them as one tensor named <c>features</c> of shape [batch, 6].
/// </summary>
public static class FraudFeatures
{
    /// <summary>Number of features per row (the width of the <c>features</c> tensor).</summary>
    public const int Count = 6;

    /// <summary>Name of the single ONNX input tensor, FP32 [batch, <see cref="Count"/>].</summary>
    public const string InputName = "features";

    /// <summary>Name of the single ONNX output tensor, FP32 [batch, 2] = [P(legit), P(fraud)].</summary>
    public const string OutputName = "probabilities";

    /// <summary>Symbolic name of the dynamic batch dimension on input and output.</summary>
    public const string BatchDimension = "batch";

    /// <summary>
    /// Feature names in contract order: <c>amount</c>, <c>customer_avg_amount</c>,
    /// <c>merchant_category</c> (a <see cref="MerchantCategory"/> code), <c>hour</c> (0..23 local),
    /// <c>distance_km</c> (from the customer's home), <c>txn_last_hour</c> (card velocity).
    /// </summary>
    public static IReadOnlyList<string> Names { get; } = Array.AsReadOnly(
    [
        "amount",
        "customer_avg_amount",
        "merchant_category",
        "hour",
        "distance_km",
        "txn_last_hour",
    ]);
}
