using System.Runtime.InteropServices;

namespace Pronto.Core.Inference;

/// <summary>
/// The clock the engine's cost is measured with: CPU time the calling thread has used. The inference path reads it
/// before and after each engine run (<see cref="Backends.IModelInstance.Run"/>) on the thread that runs it, so the
/// difference is the CPU that run spent there: what <c>pronto_cost_cpu_seconds_total</c> adds up. Tests give a fake
/// clock so that the expected cost is exact.
/// </summary>
/// <remarks>
/// What it counts: user and system CPU of the thread that calls the engine, during the call (Linux
/// <c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c>, nanoseconds; the same total <c>getrusage(RUSAGE_THREAD)</c> reports,
/// at finer resolution). What it does not: CPU on other threads that work for the run: ONNX Runtime's intra-op pool
/// threads when the pool has more than one thread and an operator is split across it (the calling thread takes one
/// share), and the time spent preparing and encoding outside the run. With <c>Pronto:Onnx:IntraOpThreads=1</c> (the CLI,
/// <c>pronto batch</c> and <c>pronto sql</c> default to it) a CPU run executes entirely on the calling thread and the
/// count is the whole engine cost; with a larger pool it is a lower bound. On a platform without a per-thread CPU
/// clock (anything but Linux and macOS) it reads 0.
/// </remarks>
public abstract partial class CpuClock
{
    /// <summary>The calling thread's CPU clock of this process.</summary>
    public static CpuClock Thread { get; } = new ThreadCpuClock();

    /// <summary>A clock that reads 0 and costs nothing: cost accounting off (every run counts 0 CPU-seconds).</summary>
    public static CpuClock None { get; } = new NoCpuClock();

    /// <summary>CPU time the calling thread has used so far, in nanoseconds; only differences on one thread mean anything.</summary>
    public abstract long GetThreadCpuNanoseconds();

    private sealed class NoCpuClock : CpuClock
    {
        public override long GetThreadCpuNanoseconds() => 0;
    }

    // A reading is a system call (Linux has no vDSO path for thread CPU clocks): ~0.2-0.6 us, two per engine run
    // (docs/benchmarks.md, Response cache and cost).
    private sealed partial class ThreadCpuClock : CpuClock
    {
        // CLOCK_THREAD_CPUTIME_ID: 3 on Linux, 16 on macOS.
        private static readonly int ClockId = OperatingSystem.IsLinux() ? 3 : OperatingSystem.IsMacOS() ? 16 : -1;

        public override long GetThreadCpuNanoseconds()
        {
            if (ClockId < 0 || ClockGetTime(ClockId, out var now) != 0)
            {
                return 0;
            }

            return (now.Seconds * 1_000_000_000L) + now.Nanoseconds;
        }

        [LibraryImport("libc", EntryPoint = "clock_gettime")]
        private static partial int ClockGetTime(int clockId, out TimeSpec value);

        [StructLayout(LayoutKind.Sequential)]
        private struct TimeSpec
        {
            public long Seconds;
            public long Nanoseconds;
        }
    }
}
