using System.Globalization;
using Cronos;
using Pronto.Batch;

namespace Pronto.Server.Jobs;

/// <summary>
/// One scheduled job of <c>pronto serve</c> (settings <c>Pronto:Jobs</c> or a <c>--jobs FILE</c> JSON array): a cron
/// schedule and the arguments of a <c>pronto batch</c> run. Each run writes its own output: <see cref="Output"/>
/// holds <c>{time}</c>, replaced by the run's scheduled time (UTC, <c>20261205T130000Z</c>).
/// </summary>
public sealed class ScheduledJobOptions
{
    public const string TimePlaceholder = "{time}";

    public string Name { get; set; } = "";

    /// <summary>Five fields (minute hour day month weekday) or six with seconds first, as Cronos reads them.</summary>
    public string Cron { get; set; } = "";

    /// <summary>Time zone the schedule is read in (IANA id); UTC when empty.</summary>
    public string? TimeZone { get; set; }

    /// <summary>What the job runs: <c>batch</c> (the only kind so far).</summary>
    public string Kind { get; set; } = "batch";

    public string Model { get; set; } = "";

    public string Input { get; set; } = "";

    /// <summary>Output file or folder of each run; must contain <c>{time}</c>.</summary>
    public string Output { get; set; } = "";

    public string? Column { get; set; }

    public Dictionary<string, string> Map { get; init; } = [];

    public List<string>? KeepColumns { get; set; }

    public string? Format { get; set; }

    public int BatchSize { get; set; }

    public int PartRows { get; set; } = Pronto.Batch.BatchOptions.DefaultPartRows;

    public double MaxErrorRate { get; set; } = 1.0;

    public int ConcurrentRuns { get; set; } = 1;

    /// <summary>The parsed schedule (after <see cref="Validate"/>).</summary>
    internal CronExpression Schedule { get; private set; } = null!;

    internal TimeZoneInfo Zone { get; private set; } = TimeZoneInfo.Utc;

    /// <summary>The output of the run scheduled at <paramref name="scheduled"/>.</summary>
    public string OutputOf(DateTimeOffset scheduled) =>
        Output.Replace(TimePlaceholder, scheduled.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture), StringComparison.Ordinal);

    /// <summary>The first scheduled time strictly after <paramref name="after"/>, or null when the schedule has none.</summary>
    public DateTimeOffset? NextAfter(DateTimeOffset after) => Schedule.GetNextOccurrence(after, Zone, inclusive: false);

    /// <summary>The <c>pronto batch</c> options of one run.</summary>
    public BatchOptions ToBatchOptions(DateTimeOffset scheduled, bool resume) => new()
    {
        Model = Model,
        Input = Input,
        Output = OutputOf(scheduled),
        Column = Column,
        Map = Map,
        KeepColumns = KeepColumns,
        Format = Format,
        BatchSize = BatchSize,
        PartRows = PartRows,
        MaxErrorRate = MaxErrorRate,
        ConcurrentRuns = ConcurrentRuns,
        Resume = resume,
    };

    /// <summary>Throws naming the job and the setting when it cannot work; the server does not start then.</summary>
    public void Validate(int index)
    {
        var who = string.IsNullOrWhiteSpace(Name) ? $"Pronto:Jobs:{index}" : $"Pronto:Jobs '{Name}'";
        Check(!string.IsNullOrWhiteSpace(Name) && Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'), who, "Name must be set (letters, digits, '-', '_', '.')");
        Check(Kind == "batch", who, $"Kind '{Kind}' is not supported (batch is)");
        try
        {
            var fields = Cron.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
            Schedule = CronExpression.Parse(Cron, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException e)
        {
            throw new InvalidOperationException($"{who}: Cron '{Cron}' is not a cron expression ({e.Message}).", e);
        }

        if (!string.IsNullOrEmpty(TimeZone))
        {
            try
            {
                Zone = TimeZoneInfo.FindSystemTimeZoneById(TimeZone);
            }
            catch (TimeZoneNotFoundException e)
            {
                throw new InvalidOperationException($"{who}: TimeZone '{TimeZone}' is not a known time zone.", e);
            }
        }

        Check(!string.IsNullOrWhiteSpace(Model), who, "Model must be set");
        Check(!string.IsNullOrWhiteSpace(Input), who, "Input must be set");
        Check(Output.Contains(TimePlaceholder, StringComparison.Ordinal), who, $"Output must contain {TimePlaceholder} so that each run writes its own output");
        try
        {
            ToBatchOptions(DateTimeOffset.UnixEpoch, resume: false).Validate();
        }
        catch (Core.Errors.ProntoException e)
        {
            throw new InvalidOperationException($"{who}: {e.Message}.", e);
        }
    }

    private static void Check(bool ok, string who, string rule)
    {
        if (!ok)
        {
            throw new InvalidOperationException($"{who}: {rule}.");
        }
    }
}
