namespace Pronto.Models.Fraud;

/// <summary>
/// Deterministic synthetic card-transaction generator: the training and evaluation data of
/// Pronto's own fraud model.
/// </summary>
/// <remarks>
/// <para><b>Generative story.</b> Each transaction is drawn independently:</para>
/// <list type="number">
/// <item>A customer's usual ticket <c>customer_avg_amount</c> ~ LogNormal(ln 40, 0.75), clamped to [5, 1500].</item>
/// <item>The label: fraud with probability <see cref="FraudRate"/> (3 %).</item>
/// <item><b>Legit</b> traffic: the category follows everyday spending (grocery, restaurants and online
/// retail dominate; a few percent gambling and crypto/gift cards too); the amount is the customer's
/// usual ticket times a per-category factor (electronics 3x, travel 4x, ...) times LogNormal(0, 0.55);
/// the hour follows a diurnal curve (quiet at night, peaks at lunch and early evening); the distance is
/// a few km from home, except 7 % of transactions made while travelling (LogNormal around 150 km);
/// velocity <c>txn_last_hour</c> ~ Poisson(0.4), with 3 % shopping sprees ~ Poisson(2.5).</item>
/// <item><b>Fraud</b> shows each signal only with some probability, so many frauds look partly
/// legit and some legit traffic looks risky: a risky category (electronics, travel, gambling,
/// crypto/gift cards) with probability 0.45, else an everyday one; the amount is a small card test
/// (0.5-5) with probability 0.15, far above the usual ticket (x3.5 median, wide spread) with
/// probability 0.55, else legit-like; a night hour (0-5) with probability 0.35, else the diurnal curve;
/// far from home (LogNormal around 800 km) with probability 0.4; a velocity burst
/// (3 + Poisson(3)) with probability 0.3, else Poisson(0.6).</item>
/// </list>
/// <para>The overlap keeps the task honest: a gradient-boosted tree model reaches a held-out ROC AUC in
/// the mid 0.9s, not 1.0.</para>
/// <para><b>Determinism.</b> All randomness comes from <see cref="SplitMix64"/> seeded with the
/// constructor seed, so a seed always yields the same rows (on a given platform; the only libm
/// calls are <see cref="Math.Exp(double)"/>, whose last bit could in theory differ between OSes).
/// The generator is a stream: successive <see cref="Generate"/> calls on one instance continue it,
/// so <c>Generate(a)</c> then <c>Generate(b)</c> yields exactly the rows of <c>Generate(a + b)</c>.</para>
/// </remarks>
public sealed class TransactionGenerator
{
    /// <summary>Base rate of fraud (3 %, typical of a card-fraud data set after pre-filtering).</summary>
    public const double FraudRate = 0.03;

    /// <summary>Number of merchant categories (codes 0..CategoryCount-1).</summary>
    public const int CategoryCount = 8;

    // Everyday spending mix by MerchantCategory code; sums to 1. Gambling and crypto are not zero
    // on purpose: legit customers use them too, which is part of the overlap.
    private static readonly double[] LegitCategoryWeights = [0.28, 0.14, 0.20, 0.22, 0.05, 0.04, 0.04, 0.03];

    // Where fraudsters cash out when they pick a risky category: resellable goods and cash-like channels.
    private static readonly double[] RiskyCategoryWeights = [0, 0, 0, 0, 0.30, 0.15, 0.20, 0.35];

    // Typical ticket of each category relative to the customer's usual ticket
    // (a restaurant bill is below average, a flight or a laptop well above it).
    private static readonly double[] CategoryAmountFactor = [1.0, 0.9, 0.7, 1.1, 3.0, 4.0, 1.5, 2.0];

    // Relative activity per local hour 0..23: quiet at night, lunch and early-evening peaks.
    private static readonly double[] HourWeights =
    [
        1.0, 0.6, 0.4, 0.3, 0.3, 0.6, 1.5, 3.0, 4.5, 5.0, 5.5, 6.0,
        7.0, 6.5, 5.5, 5.5, 6.0, 7.0, 7.5, 7.0, 6.0, 4.5, 3.0, 2.0,
    ];

    private readonly SplitMix64 _random;

    /// <summary>Creates a generator whose whole output is determined by <paramref name="seed"/>.</summary>
    public TransactionGenerator(int seed)
    {
        Seed = seed;
        _random = new SplitMix64(unchecked((ulong)seed));
    }

    /// <summary>The seed this generator was created with.</summary>
    public int Seed { get; }

    /// <summary>
    /// Draws the next <paramref name="count"/> transactions of this generator's stream.
    /// The rows are materialised eagerly, so enumerating the result twice gives the same rows.
    /// </summary>
    public IEnumerable<Transaction> Generate(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var rows = new Transaction[count];
        for (var i = 0; i < rows.Length; i++)
        {
            rows[i] = Next();
        }

        return rows;
    }

    private Transaction Next()
    {
        var r = _random;

        // Median usual ticket 40; sigma 0.75 spans ~10..170 for the middle 95 % of customers.
        var customerAvg = Math.Clamp(r.NextLogNormal(Math.Log(40), 0.75), 5.0, 1500.0);
        var isFraud = r.Chance(FraudRate);

        int category;
        double amount;
        int hour;
        double distance;
        int velocity;

        if (!isFraud)
        {
            category = r.NextWeighted(LegitCategoryWeights);
            amount = customerAvg * CategoryAmountFactor[category] * r.NextLogNormal(0, 0.55);
            hour = r.NextWeighted(HourWeights);

            // 7 % of legit purchases happen while travelling (median 150 km away).
            distance = r.Chance(0.07) ? r.NextLogNormal(Math.Log(150), 1.2) : r.NextLogNormal(Math.Log(4), 0.9);

            // 3 % shopping sprees make legit velocity bursts (overlap with fraud bursts).
            velocity = r.Chance(0.03) ? r.NextPoisson(2.5) : r.NextPoisson(0.4);
        }
        else
        {
            category = r.Chance(0.45) ? r.NextWeighted(RiskyCategoryWeights) : r.NextWeighted(LegitCategoryWeights);

            var pattern = r.NextDouble();
            if (pattern < 0.15)
            {
                // Card testing: a tiny charge to check the stolen card works.
                amount = 0.5 + (4.5 * r.NextDouble());
            }
            else if (pattern < 0.70)
            {
                // Cash-out: median 3.5x the usual ticket, wide spread.
                amount = customerAvg * CategoryAmountFactor[category] * r.NextLogNormal(Math.Log(3.5), 0.7);
            }
            else
            {
                // Careful fraudster: blends in with the usual ticket.
                amount = customerAvg * CategoryAmountFactor[category] * r.NextLogNormal(0, 0.6);
            }

            hour = r.Chance(0.35) ? r.NextInt(0, 6) : r.NextWeighted(HourWeights);
            distance = r.Chance(0.4) ? r.NextLogNormal(Math.Log(800), 1.0) : r.NextLogNormal(Math.Log(4), 0.9);
            velocity = r.Chance(0.3) ? 3 + r.NextPoisson(3) : r.NextPoisson(0.6);
        }

        // Amounts are charged in cents (minimum 0.50); distances are reported to 0.1 km and
        // capped at half the Earth's circumference.
        amount = Math.Max(0.5, Math.Round(amount, 2));
        distance = Math.Min(20_000, Math.Round(distance, 1));

        return new Transaction(
            (float)amount,
            (float)Math.Round(customerAvg, 2),
            category,
            hour,
            (float)distance,
            velocity,
            isFraud);
    }
}
