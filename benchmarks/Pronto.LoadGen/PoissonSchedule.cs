namespace Pronto.LoadGen;

/// <summary>
/// Arrival times of a Poisson process, as MLPerf LoadGen's server scenario draws them: exponential gaps with mean
/// 1 / rate from a seeded <see cref="Random"/>, so that the same seed replays the same schedule.
/// </summary>
public static class PoissonSchedule
{
    /// <summary>
    /// <paramref name="count"/> send times in seconds from the start of the run, ascending: the first at 0, then
    /// one exponential gap of mean 1 / <paramref name="rate"/> after another.
    /// </summary>
    public static double[] Create(double rate, int count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rate);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var random = new Random(seed);
        var times = new double[count];
        var time = 0.0;
        for (var i = 1; i < count; i++)
        {
            // Inverse transform sampling; 1 - NextDouble() lies in (0, 1], so the logarithm is finite.
            time += -Math.Log(1 - random.NextDouble()) / rate;
            times[i] = time;
        }

        return times;
    }
}
