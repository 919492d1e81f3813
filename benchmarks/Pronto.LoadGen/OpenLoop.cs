using System.Diagnostics;

namespace Pronto.LoadGen;

/// <summary>
/// Open loop: requests leave at Poisson arrival times (<see cref="PoissonSchedule"/>) whatever is still
/// outstanding, and each latency is counted from the request's scheduled send time, so a server that falls behind
/// is charged for the queue it builds (no coordinated omission, as MLPerf LoadGen's server scenario).
/// </summary>
public static class OpenLoop
{
    // A sleep wakes up late by up to about a millisecond; the last stretch before a send is spent yielding instead.
    private static readonly TimeSpan SleepMargin = TimeSpan.FromMilliseconds(1.5);

    /// <summary>Sends <paramref name="requests"/> requests at a mean rate of <paramref name="rate"/> per second.</summary>
    /// <param name="seed">Seeds the schedule: the same seed sends at the same times.</param>
    /// <param name="check">Compares a sample of the responses with a direct run; null for none.</param>
    /// <returns>The run's result; its <see cref="LoadResult.Throughput"/> is the achieved rate.</returns>
    public static async Task<LoadResult> RunAsync(
        IInferenceTransport transport, double rate, int requests, int seed = 1, ResponseCheck? check = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentOutOfRangeException.ThrowIfLessThan(requests, 1);
        var schedule = PoissonSchedule.Create(rate, requests, seed);
        var recorder = new LoadRecorder(transport, check, requests, cancellationToken);
        var pending = new Task[requests];
        var lagsUs = new double[requests];
        var start = Stopwatch.GetTimestamp();

        // The dispatcher has a thread of its own, so that thread-pool work (sending, reading answers) never delays a send.
        await Task.Factory.StartNew(
            () => Dispatch(recorder, schedule, start, pending, lagsUs, cancellationToken),
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default).ConfigureAwait(false);
        await Task.WhenAll(pending).ConfigureAwait(false);
        var result = recorder.Finish(Stopwatch.GetElapsedTime(start));
        Array.Sort(lagsUs);
        return result with { SendLagP99Us = LoadResult.NearestRank(lagsUs, 99) };
    }

    private static void Dispatch(LoadRecorder recorder, double[] schedule, long start, Task[] pending, double[] lagsUs, CancellationToken cancellationToken)
    {
        for (var i = 0; i < schedule.Length; i++)
        {
            var due = start + (long)(schedule[i] * Stopwatch.Frequency);
            WaitUntil(due, cancellationToken);
            lagsUs[i] = Stopwatch.GetElapsedTime(due).TotalMicroseconds;
            pending[i] = recorder.SendAsync(i, due);
        }
    }

    private static void WaitUntil(long due, CancellationToken cancellationToken)
    {
        while (Stopwatch.GetTimestamp() < due)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (remaining > SleepMargin)
            {
                Thread.Sleep(remaining - SleepMargin);
            }
            else
            {
                // Yield rather than spin: the load generator may have one core, shared with the threads reading answers.
                Thread.Yield();
            }
        }
    }
}
