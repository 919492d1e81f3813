namespace Pronto.Core.Generation;

/// <summary>Numerics on a row of logits shared by the sampler and Pronto's own trainer.</summary>
public static class LogitMath
{
    /// <summary>log(sum(exp(logits))), computed from the maximum so that no exponent overflows.</summary>
    public static double LogSumExp(ReadOnlySpan<float> logits)
    {
        var max = float.NegativeInfinity;
        foreach (var l in logits)
        {
            max = Math.Max(max, l);
        }

        double sum = 0;
        foreach (var l in logits)
        {
            sum += Math.Exp(l - max);
        }

        return max + Math.Log(sum);
    }
}
