using System.Text.Json.Serialization;

namespace Pronto.Server.Jobs;

/// <summary>Status of one run of a scheduled job.</summary>
public static class JobStatus
{
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Skipped = "skipped";
    public const string Interrupted = "interrupted";
    public const string Cancelled = "cancelled";
}

/// <summary>
/// One run of a scheduled job, as the history records it (one JSON line per change; the last line of an id wins).
/// A skipped run has no start; a resumed run names the interrupted one it finishes.
/// </summary>
public sealed record JobRun
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("job")]
    public required string Job { get; init; }

    [JsonPropertyName("scheduled")]
    public required DateTimeOffset Scheduled { get; init; }

    [JsonPropertyName("status")]
    public required string Status { get; init; }

    [JsonPropertyName("started")]
    public DateTimeOffset? Started { get; init; }

    [JsonPropertyName("ended")]
    public DateTimeOffset? Ended { get; init; }

    [JsonPropertyName("output")]
    public string? Output { get; init; }

    /// <summary>Rows this run handled (scored or failed); a resumed run does not count the parts committed before.</summary>
    [JsonPropertyName("rows")]
    public long Rows { get; init; }

    [JsonPropertyName("errors")]
    public long Errors { get; init; }

    /// <summary>Engine CPU-seconds of the run (the batch summary's engine CPU time).</summary>
    [JsonPropertyName("cost_cpu_seconds")]
    public double CostCpuSeconds { get; init; }

    /// <summary>Money, when the server has a price per CPU hour.</summary>
    [JsonPropertyName("cost")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Cost { get; init; }

    /// <summary>Why it failed, was skipped, interrupted or cancelled, or why it ran (a missed time run at start).</summary>
    [JsonPropertyName("message")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Message { get; init; }

    /// <summary>The interrupted run this one resumes (with the batch job's <c>--resume</c>).</summary>
    [JsonPropertyName("resumes")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Resumes { get; init; }
}
