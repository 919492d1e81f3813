using System.Globalization;

namespace Pronto.LoadGen;

/// <summary>
/// CPU time of a server process on the same Linux machine, read from <c>/proc</c>. A sample holds two readings:
/// every live thread's nanoseconds on CPU (<c>/proc/PID/task/TID/schedstat</c>, exact) and the process's
/// utime + stime in clock ticks (<c>/proc/PID/stat</c>, which keeps the time of threads that have exited, but only
/// to 10 ms). <see cref="Between"/> takes the exact sum when every thread of the first sample is still alive.
/// </summary>
public static class ServerCpu
{
    // USER_HZ, the unit of /proc/PID/stat's times: fixed at 100 by the kernel's user-space ABI on x86-64 and arm64.
    private const double TicksPerSecond = 100;

    /// <summary>Reads process <paramref name="pid"/>'s CPU time now.</summary>
    /// <exception cref="IOException">The process does not exist (or /proc is not there).</exception>
    public static ServerCpuSample Read(int pid)
    {
        var threads = new Dictionary<int, long>();
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                threads[int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture)] = ParseSchedstat(File.ReadAllText(Path.Combine(task, "schedstat")));
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                // The thread exited between listing and reading: it is simply not in this sample.
            }
        }

        return new ServerCpuSample(ParseStatTicks(File.ReadAllText($"/proc/{pid}/stat")), threads);
    }

    /// <summary>
    /// CPU seconds the process spent from <paramref name="before"/> to <paramref name="after"/>, and where they came
    /// from: <c>schedstat</c> (exact: no thread of <paramref name="before"/> exited; threads born since count from 0)
    /// or <c>stat</c> (a thread exited, so the process's own total at 10 ms resolution, or the surviving threads' exact
    /// time when that is larger).
    /// </summary>
    public static (double Seconds, string Source) Between(ServerCpuSample before, ServerCpuSample after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        long nanoseconds = 0;
        var exited = false;
        foreach (var (thread, atStart) in before.ThreadNanoseconds)
        {
            if (after.ThreadNanoseconds.TryGetValue(thread, out var atEnd))
            {
                nanoseconds += atEnd - atStart;
            }
            else
            {
                exited = true;
            }
        }

        foreach (var (thread, atEnd) in after.ThreadNanoseconds)
        {
            if (!before.ThreadNanoseconds.ContainsKey(thread))
            {
                nanoseconds += atEnd;
            }
        }

        // A thread exited: its time since the first reading is only in the process's total (10 ms resolution). The
        // surviving threads' exact time is a lower bound of the same quantity; take the larger of the two.
        return exited
            ? (Math.Max((after.Ticks - before.Ticks) / TicksPerSecond, nanoseconds / 1e9), "stat")
            : (nanoseconds / 1e9, "schedstat");
    }

    /// <summary>utime + stime (fields 14 and 15) of a <c>/proc/PID/stat</c> line, in clock ticks.</summary>
    public static long ParseStatTicks(string stat)
    {
        ArgumentNullException.ThrowIfNull(stat);

        // Field 2 is the command name in parentheses and may itself hold spaces and ')': count from the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[14 - 3], CultureInfo.InvariantCulture) + long.Parse(fields[15 - 3], CultureInfo.InvariantCulture);
    }

    /// <summary>The first field of a <c>schedstat</c> line: nanoseconds on CPU.</summary>
    public static long ParseSchedstat(string schedstat)
    {
        ArgumentNullException.ThrowIfNull(schedstat);
        return long.Parse(schedstat.AsSpan(0, schedstat.IndexOf(' ')), CultureInfo.InvariantCulture);
    }
}

/// <summary>One reading of <see cref="ServerCpu"/>.</summary>
/// <param name="Ticks">The process's utime + stime in clock ticks, exited threads included.</param>
/// <param name="ThreadNanoseconds">Per live thread id, nanoseconds on CPU.</param>
public sealed record ServerCpuSample(long Ticks, IReadOnlyDictionary<int, long> ThreadNanoseconds);
