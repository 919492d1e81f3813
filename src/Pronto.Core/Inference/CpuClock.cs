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
/// <para>
/// Sampling (<see cref="Sampled"/>): a reading is a system call, and on a virtual machine whose system calls are
/// expensive (this project's PVM guest: ~1 us each, and the caches and TLB they flush slow the user code after them
/// about 2x; docs/benchmarks.md, Serving operations) two readings per run cost fraud, a run of a few microseconds, 1.4x
/// its server CPU. A sampled clock reads the thread CPU clock on one run in N per model and the wall clock (vDSO, no
/// system call) on every run, and counts an unsampled run as its wall time times the model's sampled CPU / wall ratio.
/// Preemption inside a run stretches sampled and unsampled runs alike, so the estimate stays unbiased while the load is
/// steady; the sum is exact for N = 1.
/// </para>
/// </remarks>
public abstract partial class CpuClock
{
    /// <summary>The calling thread's CPU clock of this process.</summary>
    public static CpuClock Thread { get; } = new ThreadCpuClock();

    /// <summary>A clock that reads 0 and costs nothing: cost accounting off (every run counts 0 CPU-seconds).</summary>
    public static CpuClock None { get; } = new NoCpuClock();

    /// <summary>
    /// The thread CPU clock read on one engine run in <paramref name="every"/> per model (<see cref="ForModel"/>), the
    /// others estimated from their wall time (the remarks above); <paramref name="every"/> = 1 is <see cref="Thread"/>.
    /// <paramref name="inner"/> and <paramref name="wall"/> replace the thread CPU clock and the wall clock in tests.
    /// </summary>
    public static CpuClock Sampled(int every, CpuClock? inner = null, TimeProvider? wall = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(every, 1);
        return every == 1 && wall is null ? inner ?? Thread : new SampledCpuClock(every, inner ?? Thread, wall ?? TimeProvider.System);
    }

    /// <summary>CPU time the calling thread has used so far, in nanoseconds; only differences on one thread mean anything.</summary>
    public abstract long GetThreadCpuNanoseconds();

    /// <summary>The clock one model's runs are measured with: this one, or for a sampled clock one with the model's own CPU / wall ratio.</summary>
    public virtual CpuClock ForModel() => this;

    /// <summary>True for a clock whose <see cref="ForModel"/> makes a new clock per model (a sampled one).</summary>
    public virtual bool KeepsPerModelState => false;

    /// <summary>Called on the engine run's thread before it; <see cref="End"/> after it, on the same thread, gives its CPU nanoseconds.</summary>
    public virtual CpuMark Begin() => new(GetThreadCpuNanoseconds(), 0);

    /// <summary>The CPU nanoseconds the run begun at <paramref name="begin"/> spent on this thread (read or, sampled, estimated).</summary>
    public virtual long End(CpuMark begin) => GetThreadCpuNanoseconds() - begin.Cpu;

    /// <summary>A run's start: its thread CPU reading (negative when this run is not sampled) and wall timestamp.</summary>
    public readonly record struct CpuMark(long Cpu, long Wall);

    private sealed class NoCpuClock : CpuClock
    {
        public override long GetThreadCpuNanoseconds() => 0;
    }

    private sealed class SampledCpuClock(int every, CpuClock inner, TimeProvider wall) : CpuClock
    {
        private long _runs;
        private long _sampledCpuNs;
        private long _sampledWallTicks;

        public override long GetThreadCpuNanoseconds() => inner.GetThreadCpuNanoseconds();

        public override CpuClock ForModel() => new SampledCpuClock(every, inner, wall);

        public override bool KeepsPerModelState => true;

        public override CpuMark Begin()
        {
            var sampled = (Interlocked.Increment(ref _runs) - 1) % every == 0;
            var now = wall.GetTimestamp();
            return new(sampled ? inner.GetThreadCpuNanoseconds() : -1, now);
        }

        public override long End(CpuMark begin)
        {
            if (begin.Cpu >= 0)
            {
                var cpu = inner.GetThreadCpuNanoseconds() - begin.Cpu;
                Interlocked.Add(ref _sampledWallTicks, wall.GetTimestamp() - begin.Wall);
                Interlocked.Add(ref _sampledCpuNs, cpu);
                return cpu;
            }

            var ticks = wall.GetTimestamp() - begin.Wall;
            var sampledWall = Interlocked.Read(ref _sampledWallTicks);
            var sampledCpu = Interlocked.Read(ref _sampledCpuNs);
            return sampledWall > 0
                ? (long)(ticks * ((double)sampledCpu / sampledWall))
                : (long)(ticks * (1e9 / wall.TimestampFrequency));
        }
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
