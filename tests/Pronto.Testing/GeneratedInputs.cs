using Pronto.Models.Fraud;

namespace Pronto.Testing;

/// <summary>Deterministic FP32 input values for benchmarks and request bodies: the same bytes on every machine.</summary>
public static class GeneratedInputs
{
    /// <summary>
    /// <paramref name="count"/> values uniform in [-128, 128), the range of a mean-subtracted 8-bit image, so one
    /// generator serves image models and the rest alike.
    /// </summary>
    public static float[] Floats(long count, ulong seed = 42)
    {
        var random = new SplitMix64(seed);
        var values = new float[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = random.NextSignedSingle() * 128f;
        }

        return values;
    }
}
