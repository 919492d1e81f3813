namespace Pronto.Models.Fraud;

/// <summary>
/// One card transaction: the six model features (all FP32, see <see cref="FraudFeatures.Names"/>)
/// and the ground-truth label.
/// </summary>
/// <param name="Amount">Transaction amount in the card's currency.</param>
/// <param name="CustomerAvgAmount">The customer's usual ticket (average past amount).</param>
/// <param name="MerchantCategory">A <see cref="Fraud.MerchantCategory"/> code, 0..7, as a float.</param>
/// <param name="Hour">Local hour of day, 0..23.</param>
/// <param name="DistanceKm">Distance from the customer's home, in km (for card-not-present: the IP geolocation).</param>
/// <param name="TxnLastHour">Number of this card's transactions in the hour before this one.</param>
/// <param name="IsFraud">Ground truth: true for a fraudulent transaction.</param>
public sealed record Transaction(
    float Amount,
    float CustomerAvgAmount,
    float MerchantCategory,
    float Hour,
    float DistanceKm,
    float TxnLastHour,
    bool IsFraud)
{
    /// <summary>The six features in contract order (<see cref="FraudFeatures.Names"/>).</summary>
    public float[] ToFeatures() => [Amount, CustomerAvgAmount, MerchantCategory, Hour, DistanceKm, TxnLastHour];

    /// <summary>Writes the six features in contract order into <paramref name="destination"/>.</summary>
    public void CopyFeaturesTo(Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, FraudFeatures.Count, nameof(destination));
        destination[0] = Amount;
        destination[1] = CustomerAvgAmount;
        destination[2] = MerchantCategory;
        destination[3] = Hour;
        destination[4] = DistanceKm;
        destination[5] = TxnLastHour;
    }
}
