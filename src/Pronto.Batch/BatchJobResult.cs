namespace Pronto.Batch;

/// <summary>How a job ended, and what it cost.</summary>
public sealed record BatchJobResult
{
    /// <summary>Input rows this run handled (scored or failed); rows of parts committed by an earlier run are not counted.</summary>
    public long Rows { get; init; }

    public long Written { get; init; }

    public long Errors { get; init; }

    /// <summary>The whole job's rows and errors, earlier runs' committed parts included.</summary>
    public long TotalRows { get; init; }

    public long TotalErrors { get; init; }

    public int PartsWritten { get; init; }

    public int PartsSkipped { get; init; }

    public TimeSpan Elapsed { get; init; }

    /// <summary>CPU time of the whole process during the job (Process.TotalProcessorTime).</summary>
    public TimeSpan CpuTime { get; init; }

    /// <summary>
    /// The part of <see cref="CpuTime"/> the engine's runs took, as the serving path counts it (<c>pronto_cost_cpu_seconds_total</c>:
    /// CPU time of the thread that ran each; with the CLI's one-thread intra-op pool, all of a run's CPU).
    /// </summary>
    public TimeSpan EngineCpuTime { get; init; }

    /// <summary>Time the JIT compiler spent during the job, on all threads (System.Runtime.JitInfo): part of <see cref="CpuTime"/>.</summary>
    public TimeSpan JitTime { get; init; }

    /// <summary>Methods the JIT compiler compiled during the job (each tier of a method counts).</summary>
    public long JitMethods { get; init; }

    public bool ErrorRateExceeded { get; init; }

    /// <summary>True when <c>--resume</c> found the job already finished.</summary>
    public bool AlreadyComplete { get; init; }

    public required string Output { get; init; }

    public required string ErrorsFile { get; init; }

    public double RowsPerSecond => Elapsed.TotalSeconds > 0 ? Rows / Elapsed.TotalSeconds : 0;

    public double CpuSecondsPerThousandRows => Rows > 0 ? CpuTime.TotalSeconds * 1000 / Rows : 0;

    public double EngineCpuSecondsPerThousandRows => Rows > 0 ? EngineCpuTime.TotalSeconds * 1000 / Rows : 0;
}
