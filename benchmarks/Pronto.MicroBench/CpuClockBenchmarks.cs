using BenchmarkDotNet.Attributes;
using Pronto.Core.Inference;

namespace Pronto.MicroBench;

/// <summary>One reading of the engine-cost clock (<see cref="CpuClock.Thread"/>): every engine run takes two.</summary>
public class CpuClockBenchmarks
{
    [Benchmark]
    public long ThreadCpuTime() => CpuClock.Thread.GetThreadCpuNanoseconds();
}
