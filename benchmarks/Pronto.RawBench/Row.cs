using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pronto.RawBench;

/// <summary>One measured line. Every mode fills the columns it measures; the others stay empty.</summary>
internal sealed record Row(string Mode, string Model)
{
    public int? Threads { get; init; }

    public int? Batch { get; init; }

    public long? Runs { get; init; }

    public double? Seconds { get; init; }

    public double? RowsPerSecond { get; init; }

    public double? P50Us { get; init; }

    public double? P99Us { get; init; }

    /// <summary>FLOPs of one row (one sample), in GFLOP.</summary>
    public double? GflopPerRow { get; init; }

    public double? GflopPerSecond { get; init; }

    /// <summary>GflopPerSecond over the peak measured in the same process at the same threads.</summary>
    public double? OfPeak { get; init; }

    /// <summary>This throughput row with its FLOPs: per row, per second and, given a measured peak, the share of it.</summary>
    public Row WithFlops(long flopsPerRow, double? peakGflopPerSecond = null)
    {
        var perSecond = flopsPerRow * RowsPerSecond / 1e9;
        return this with { GflopPerRow = flopsPerRow / 1e9, GflopPerSecond = perSecond, OfPeak = perSecond / peakGflopPerSecond };
    }
}

/// <summary>Rows as a markdown table on stdout and, with --json-out, as a JSON array.</summary>
internal static class Report
{
    public const string Header = """
        | mode | model | threads | batch | runs | seconds | rows/s | p50 us | p99 us | GFLOP/row | GFLOP/s | of peak |
        |---|---|---|---|---|---|---|---|---|---|---|---|
        """;

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string Markdown(Row row) => string.Create(CultureInfo.InvariantCulture,
        $"| {row.Mode} | {row.Model} | {row.Threads} | {row.Batch} | {row.Runs} | {row.Seconds:F2} | {row.RowsPerSecond:F1} | {row.P50Us:F1} | {row.P99Us:F1} | {row.GflopPerRow:F4} | {row.GflopPerSecond:F1} | {row.OfPeak:F2} |");

    public static void WriteJson(string path, IReadOnlyList<Row> rows) => File.WriteAllText(path, JsonSerializer.Serialize(rows, Json));
}
