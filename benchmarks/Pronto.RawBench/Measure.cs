using System.Diagnostics;
using Pronto.Core.Inference;

namespace Pronto.RawBench;

/// <summary>The timed loops. Inputs are built before the clock starts; each loop warms up first (first run at a shape, JIT).</summary>
internal static class Measure
{
    /// <summary>Saturated rows/s: one run after another on the same inputs for <paramref name="seconds"/>.</summary>
    public static Row Throughput(RawModel model, int batch, int threads, double seconds)
    {
        var inputs = model.Inputs(batch);
        Describe(model, inputs);
        RunFor(model, inputs, seconds / 10);
        var (runs, elapsed) = RunFor(model, inputs, seconds);
        return Timed("throughput", model, threads, batch, runs, elapsed);
    }

    /// <summary>p50 and p99 of <paramref name="runs"/> single runs, in microseconds (nearest rank).</summary>
    public static Row Latency(RawModel model, int batch, int threads, int runs)
    {
        var inputs = model.Inputs(batch);
        Describe(model, inputs);
        for (var i = 0; i < Math.Max(10, runs / 10); i++)
        {
            model.Run(inputs);
        }

        var latencies = new double[runs];
        var total = Stopwatch.StartNew();
        for (var i = 0; i < runs; i++)
        {
            var start = Stopwatch.GetTimestamp();
            model.Run(inputs);
            latencies[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        Array.Sort(latencies);
        return Timed("latency", model, threads, batch, runs, total.Elapsed.TotalSeconds) with
        {
            P50Us = NearestRank(latencies, 50),
            P99Us = NearestRank(latencies, 99),
        };
    }

    /// <summary>Runs until <paramref name="seconds"/> have passed (at least once).</summary>
    public static (long Runs, double Seconds) RunFor(RawModel model, IReadOnlyList<NamedTensor> inputs, double seconds)
    {
        var start = Stopwatch.GetTimestamp();
        long runs = 0;
        double elapsed;
        do
        {
            model.Run(inputs);
            runs++;
            elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        while (elapsed < seconds);

        return (runs, elapsed);
    }

    private static Row Timed(string mode, RawModel model, int threads, int batch, long runs, double seconds) => new(mode, model.Model.Name)
    {
        Threads = threads,
        Batch = batch,
        Runs = runs,
        Seconds = seconds,
        RowsPerSecond = runs * batch / seconds,
    };

    private static double NearestRank(double[] sorted, double percentile) =>
        sorted[Math.Max(0, (int)Math.Ceiling(percentile / 100 * sorted.Length) - 1)];

    private static void Describe(RawModel model, IReadOnlyList<NamedTensor> inputs) =>
        Console.Error.WriteLine($"{model.Model.Name}: {string.Join(", ", inputs.Select(i => $"{i.Name} {i.Tensor}"))}");
}
