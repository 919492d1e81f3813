using System.Globalization;
using Cronos;
using Pronto.Batch;

namespace Pronto.Server.Jobs;

/// <summary>
/// One scheduled job of <c>pronto serve</c> (settings <c>Pronto:Jobs</c>, a <c>--jobs FILE</c> JSON array, or
/// <c>POST /v2/jobs</c>): a cron schedule and either the arguments of a <c>pronto batch</c> run (kind <c>batch</c>) or
/// DuckDB statements run as <c>pronto sql</c> runs them (kind <c>sql</c>). <c>{time}</c> in a batch job's
/// <see cref="Output"/> or a SQL job's <see cref="Sql"/> is replaced by the run's scheduled time (UTC,
/// <c>20261205T130000Z</c>), so each run writes its own output.
/// </summary>
public sealed class ScheduledJobOptions
{
    public const string TimePlaceholder = "{time}";

    public const string BatchKind = "batch";

    public const string SqlKind = "sql";

    /// <summary><see cref="MissedRuns"/>: times missed while the server was down are not run (the default).</summary>
    public const string SkipMissed = "skip";

    /// <summary><see cref="MissedRuns"/>: at start, the latest time missed while the server was down runs once.</summary>
    public const string RunOnceMissed = "run-once";

    public string Name { get; set; } = "";

    /// <summary>Five fields (minute hour day month weekday) or six with seconds first, as Cronos reads them.</summary>
    public string Cron { get; set; } = "";

    /// <summary>Time zone the schedule is read in (IANA id); UTC when empty.</summary>
    public string? TimeZone { get; set; }

    /// <summary>
    /// What start-up does with the times that passed while the server was down (after the job's last recorded run):
    /// <c>skip</c> (default) or <c>run-once</c>, the latest of them at once (Kubernetes CronJob's and Quartz's
    /// "fire once now" misfire policy), never one run per missed time.
    /// </summary>
    public string? MissedRuns { get; set; }

    /// <summary>True when <see cref="MissedRuns"/> is <c>run-once</c>.</summary>
    internal bool RunsMissed => MissedRuns == RunOnceMissed;

    /// <summary>What the job runs: <c>batch</c> (a <c>pronto batch</c> run) or <c>sql</c> (DuckDB statements).</summary>
    public string Kind { get; set; } = BatchKind;

    /// <summary>Batch: the model that scores the input.</summary>
    public string? Model { get; set; }

    /// <summary>Batch: the input file or folder.</summary>
    public string? Input { get; set; }

    /// <summary>Batch: output file or folder of each run; must contain <c>{time}</c>.</summary>
    public string? Output { get; set; }

    public string? Column { get; set; }

    public Dictionary<string, string>? Map { get; set; }

    public List<string>? KeepColumns { get; set; }

    public string? Format { get; set; }

    public int? BatchSize { get; set; }

    public int? PartRows { get; set; }

    public double? MaxErrorRate { get; set; }

    public int? ConcurrentRuns { get; set; }

    /// <summary>
    /// SQL: the statements of each run (several separated by ';'), with the server's models behind <c>pronto_predict</c>,
    /// <c>pronto_label</c>, <c>pronto_embed</c> and <c>ml_predict</c>; <c>{time}</c> is replaced by the scheduled time.
    /// </summary>
    public string? Sql { get; set; }

    /// <summary>SQL: a DuckDB database file the statements work on (created if missing); an in-memory database when unset.</summary>
    public string? Database { get; set; }

    /// <summary>True for a SQL job.</summary>
    internal bool IsSql => Kind == SqlKind;

    /// <summary>The parsed schedule (after <see cref="Validate"/>).</summary>
    internal CronExpression Schedule { get; private set; } = null!;

    internal TimeZoneInfo Zone { get; private set; } = TimeZoneInfo.Utc;

    /// <summary>The output of the run scheduled at <paramref name="scheduled"/>; null for a SQL job (its statements say where they write).</summary>
    public string? OutputOf(DateTimeOffset scheduled) => IsSql ? null : WithTime(Output ?? "", scheduled);

    /// <summary>The statements of the SQL run scheduled at <paramref name="scheduled"/>.</summary>
    public string SqlOf(DateTimeOffset scheduled) => WithTime(Sql ?? "", scheduled);

    /// <summary>The latest scheduled time strictly after <paramref name="after"/> and at or before <paramref name="until"/>, with how many there are; null when none.</summary>
    public (DateTimeOffset Latest, int Count)? MissedBetween(DateTimeOffset after, DateTimeOffset until)
    {
        DateTimeOffset? latest = null;
        var count = 0;
        foreach (var time in Schedule.GetOccurrences(after, until, Zone, fromInclusive: false, toInclusive: true))
        {
            latest = time;
            count++;
        }

        return latest is { } l ? (l, count) : null;
    }

    /// <summary>The first scheduled time strictly after <paramref name="after"/>, or null when the schedule has none.</summary>
    public DateTimeOffset? NextAfter(DateTimeOffset after) => Schedule.GetNextOccurrence(after, Zone, inclusive: false);

    /// <summary>The <c>pronto batch</c> options of one run.</summary>
    public BatchOptions ToBatchOptions(DateTimeOffset scheduled, bool resume) => new()
    {
        Model = Model ?? "",
        Input = Input ?? "",
        Output = OutputOf(scheduled) ?? "",
        Column = Column,
        Map = Map ?? [],
        KeepColumns = KeepColumns,
        Format = Format,
        BatchSize = BatchSize ?? 0,
        PartRows = PartRows ?? BatchOptions.DefaultPartRows,
        MaxErrorRate = MaxErrorRate ?? 1.0,
        ConcurrentRuns = ConcurrentRuns ?? 1,
        Resume = resume,
    };

    /// <summary>Throws naming the job and the setting when it cannot work; the server does not start then.</summary>
    public void Validate(int index) => Validate(string.IsNullOrWhiteSpace(Name) ? $"Pronto:Jobs:{index}" : $"Pronto:Jobs '{Name}'");

    /// <summary>Throws <see cref="InvalidOperationException"/> whose message starts with <paramref name="who"/> and names the setting.</summary>
    public void Validate(string who)
    {
        Check(!string.IsNullOrWhiteSpace(Name) && Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'), who, "Name must be set (letters, digits, '-', '_', '.')");
        Check(Kind is BatchKind or SqlKind, who, $"Kind '{Kind}' is not supported (batch or sql)");
        Check(MissedRuns is null or SkipMissed or RunOnceMissed, who, $"MissedRuns '{MissedRuns}' is not supported ({SkipMissed} or {RunOnceMissed})");
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

        if (IsSql)
        {
            var batchOnly = BatchSettingsSet();
            Check(batchOnly.Count == 0, who, $"{string.Join(", ", batchOnly)} {(batchOnly.Count == 1 ? "is a batch setting" : "are batch settings")}; a sql job takes Sql (and Database)");
            Check(!string.IsNullOrWhiteSpace(Sql), who, "Sql must be set (the DuckDB statements of each run)");
            return;
        }

        Check(Sql is null && Database is null, who, $"{(Sql is null ? "Database" : "Sql")} is a sql setting; a batch job takes Model, Input and Output (or set Kind 'sql')");
        Check(!string.IsNullOrWhiteSpace(Model), who, "Model must be set");
        Check(!string.IsNullOrWhiteSpace(Input), who, "Input must be set");
        Check(Output is not null && Output.Contains(TimePlaceholder, StringComparison.Ordinal), who, $"Output must contain {TimePlaceholder} so that each run writes its own output");
        try
        {
            ToBatchOptions(DateTimeOffset.UnixEpoch, resume: false).Validate();
        }
        catch (Core.Errors.ProntoException e)
        {
            throw new InvalidOperationException($"{who}: {e.Message}.", e);
        }
    }

    /// <summary>The batch settings a job sets, by their names.</summary>
    private List<string> BatchSettingsSet()
    {
        var set = new List<string>();
        Add(Model is not null, nameof(Model));
        Add(Input is not null, nameof(Input));
        Add(Output is not null, nameof(Output));
        Add(Column is not null, nameof(Column));
        Add(Map is not null, nameof(Map));
        Add(KeepColumns is not null, nameof(KeepColumns));
        Add(Format is not null, nameof(Format));
        Add(BatchSize is not null, nameof(BatchSize));
        Add(PartRows is not null, nameof(PartRows));
        Add(MaxErrorRate is not null, nameof(MaxErrorRate));
        Add(ConcurrentRuns is not null, nameof(ConcurrentRuns));
        return set;

        void Add(bool isSet, string name)
        {
            if (isSet)
            {
                set.Add(name);
            }
        }
    }

    private static string WithTime(string text, DateTimeOffset scheduled) =>
        text.Replace(TimePlaceholder, scheduled.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture), StringComparison.Ordinal);

    private static void Check(bool ok, string who, string rule)
    {
        if (!ok)
        {
            throw new InvalidOperationException($"{who}: {rule}.");
        }
    }
}
