namespace Pronto.Batch;

/// <summary>Live counters of a running job, read by the CLI's progress display from another thread.</summary>
public sealed class BatchProgress
{
    private long _rows;
    private long _errors;
    private long _inputBytes;
    private long _consumedBytes;
    private long _queued;

    /// <summary>Input rows handled by this run (scored or failed).</summary>
    public long Rows => Volatile.Read(ref _rows);

    public long Errors => Volatile.Read(ref _errors);

    /// <summary>Fraction of the input's bytes read, 0..1 (the reader runs a bounded distance ahead of the writer).</summary>
    public double InputFraction
    {
        get
        {
            var total = Volatile.Read(ref _inputBytes);
            return total <= 0 ? 0 : Math.Clamp((double)Volatile.Read(ref _consumedBytes) / total, 0, 1);
        }
    }

    /// <summary>
    /// Estimated fraction of this run's work done, 0..1: rows handled over the rows this run will handle,
    /// extrapolated from the rows read so far and the fraction of the input's bytes they took.
    /// </summary>
    public double Completion
    {
        get
        {
            var fraction = InputFraction;
            var queued = Volatile.Read(ref _queued);
            return fraction <= 0 || queued <= 0 ? 0 : Math.Clamp(Rows / (queued / fraction), 0, 1);
        }
    }

    internal void Queued(long rows) => Interlocked.Add(ref _queued, rows);

    internal void Add(long rows, long errors)
    {
        Interlocked.Add(ref _rows, rows);
        Interlocked.Add(ref _errors, errors);
    }

    internal void SetInput(long consumed, long total)
    {
        Volatile.Write(ref _consumedBytes, consumed);
        Volatile.Write(ref _inputBytes, total);
    }
}
