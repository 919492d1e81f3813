using System.Globalization;
using Pronto.Core.Configuration;
using Pronto.Core.Errors;

namespace Pronto.Core.Scheduling;

/// <summary>
/// Overload shedding for one model version: the longest a request may wait for its run (the queue-wait budget) and an
/// admission check against it. The wait ahead of a new request is estimated from the model's measured drain time
/// (seconds per row, a moving average over its recent runs) times the rows already waiting, over its instances. A run
/// that follows the previous one back to back (its work was waiting when that one ended) counts from that end, so the
/// gap between runs (forming the batch, the rest of the server's work on a shared core) is part of the drain time; a
/// run after an idle spell counts from its own start. A
/// request whose estimated wait exceeds the budget is refused at once with 503 and a Retry-After of that wait, and an
/// admitted request still waiting when its budget runs out is refused then. So overload turns into fast 503s while
/// the admitted requests' latency stays within the budget plus a run. Until a run has been measured only the timeout
/// applies. Time is the <see cref="TimeProvider"/>'s, fake in tests.
/// </summary>
public sealed class QueueBudget
{
    /// <summary>Server default when neither the model nor the server sets one.</summary>
    public static readonly TimeSpan DefaultBudget = TimeSpan.FromSeconds(2);

    // Weight of the newest run in the moving average: a few runs follow a change of load or machine.
    private const double Smoothing = 0.25;

    private readonly string _model;
    private readonly int _instances;
    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private double _secondsPerRow = double.NaN;
    private long _lastEnd = long.MinValue;

    public QueueBudget(string model, TimeSpan budget, int instances, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(budget.Ticks, nameof(budget));
        _model = model;
        Budget = budget;
        _instances = Math.Max(1, instances);
        _time = time;
    }

    /// <summary>The longest a request waits for its run.</summary>
    public TimeSpan Budget { get; }

    /// <summary>
    /// The budget this model gets: <c>pronto.queue_wait_budget_ms</c> when its config sets one (0: none), else Triton's
    /// <c>default_timeout_microseconds</c> when the queue policy sets one (the estimate then refuses early what would time
    /// out), else <paramref name="serverDefault"/> (null or zero: none).
    /// </summary>
    public static QueueBudget? For(ModelConfig config, TimeSpan? serverDefault, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(config);
        TimeSpan budget;
        if (config.Parameters.TryGetValue(ProntoParameters.QueueWaitBudgetMs, out var text))
        {
            budget = TimeSpan.FromMilliseconds(long.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture));
        }
        else if (config.DynamicBatching is { DefaultQueuePolicy.DefaultTimeoutMicroseconds: > 0 } batching)
        {
            budget = TimeSpan.FromMicroseconds(batching.DefaultQueuePolicy.DefaultTimeoutMicroseconds);
        }
        else
        {
            budget = serverDefault ?? TimeSpan.Zero;
        }

        return budget > TimeSpan.Zero ? new QueueBudget(config.Name, budget, config.InstanceCount, time) : null;
    }

    /// <summary>The estimated wait before a request behind <paramref name="rowsAhead"/> waiting rows runs; null before any run was measured.</summary>
    public TimeSpan? EstimatedWait(long rowsAhead)
    {
        double perRow;
        lock (_gate)
        {
            perRow = _secondsPerRow;
        }

        return double.IsNaN(perRow) ? null : TimeSpan.FromSeconds(perRow * rowsAhead / _instances);
    }

    /// <summary>Throws Unavailable (503, Retry-After) when the estimated wait behind <paramref name="rowsAhead"/> rows exceeds the budget.</summary>
    public void Admit(long rowsAhead)
    {
        if (EstimatedWait(rowsAhead) is { } wait && wait > Budget)
        {
            throw new ProntoException(ErrorCode.Unavailable,
                $"model '{_model}' is overloaded: about {Milliseconds(wait)} ms of work waits ahead of this request, over its queue-wait budget of {Milliseconds(Budget)} ms; retry later")
            {
                RetryAfterSeconds = RetryAfter(wait),
            };
        }
    }

    /// <summary>The error for a request that waited its whole budget.</summary>
    public ProntoException TimedOut() =>
        new(ErrorCode.Unavailable, $"inference request for model '{_model}' waited its queue-wait budget of {Milliseconds(Budget)} ms without a free instance; retry later")
        {
            RetryAfterSeconds = RetryAfter(Budget),
        };

    /// <summary>
    /// Records a run of <paramref name="rows"/> rows that started at <paramref name="startTimestamp"/> and ends now, its
    /// work ready (queued) since <paramref name="readySince"/> (the TimeProvider's timestamps).
    /// </summary>
    public void RecordRun(long rows, long startTimestamp, long readySince)
    {
        var end = _time.GetTimestamp();
        lock (_gate)
        {
            // Back to back: the work waited while the previous run ended, and no other instance's run ended after this one began.
            var from = readySince < _lastEnd && _lastEnd <= startTimestamp ? _lastEnd : startTimestamp;
            var seconds = _time.GetElapsedTime(from, end).TotalSeconds / Math.Max(1, rows);
            _secondsPerRow = double.IsNaN(_secondsPerRow) ? seconds : _secondsPerRow + (Smoothing * (seconds - _secondsPerRow));
            _lastEnd = Math.Max(_lastEnd, end);
        }
    }

    /// <summary>The deadline (a TimeProvider timestamp) of a request queued at <paramref name="now"/>.</summary>
    public long Deadline(long now) => now + (long)(Budget.TotalSeconds * _time.TimestampFrequency);

    private static int RetryAfter(TimeSpan wait) => (int)Math.Max(1, Math.Ceiling(wait.TotalSeconds));

    private static long Milliseconds(TimeSpan t) => (long)Math.Ceiling(t.TotalMilliseconds);
}
