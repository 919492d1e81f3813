using ParquetSharp;

namespace Pronto.Batch;

/// <summary>
/// The memory pool of the job's ParquetSharp readers and writers: the C library's malloc. ParquetSharp's default
/// (mimalloc) returns a row group's buffers to the kernel and takes them back as fresh huge pages, which the kernel
/// zeroes: 9.5 % of a 4 M-row fraud job's CPU went to clear_page (perf), and the job cost 0.00179-0.00182 CPU-s per
/// 1,000 rows against 0.00164-0.00165 with this pool (jemalloc 0.00166-0.00167; docs/benchmarks.md).
/// </summary>
internal static class ParquetMemory
{
    public static MemoryPool Pool { get; } = MemoryPool.SystemMemoryPool();
}
