using System.Globalization;
using System.Text.Json;

namespace Pronto.LoadGen;

/// <summary>
/// One run as reported: a markdown table row (the benchmark scripts' format) and a JSON object.
/// </summary>
/// <param name="Label">The row's first column, e.g. <c>mlp_on mlp.json</c>.</param>
/// <param name="Model">The model the requests went to.</param>
/// <param name="Transport">The transport's <see cref="IInferenceTransport.Name"/>.</param>
/// <param name="Concurrency">The closed loop's concurrency; null for an open loop.</param>
/// <param name="TargetRate">The open loop's target rate in requests per second; null for a closed loop.</param>
/// <param name="Result">What the run measured.</param>
public sealed record LoadReport(string Label, string Model, string Transport, int? Concurrency, double? TargetRate, LoadResult Result)
{
    /// <summary>What the server did during the run (<c>--server-pid</c>, <c>--server-stats</c>); null when not read.</summary>
    public ServerObservation? Server { get; init; }

    /// <summary>The header of <see cref="MarkdownRow"/>'s table, with its separator line.</summary>
    public const string MarkdownHeader = """
        | request | concurrency | requests | errors | p50 us | p90 us | p99 us | max us | req/s |
        |---|---|---|---|---|---|---|---|---|
        """;

    /// <summary>
    /// <c>| label | concurrency | requests | errors | p50 us | p90 us | p99 us | max us | req/s |</c>; an open loop
    /// shows its target rate as <c>5000/s</c> in the concurrency column, and its achieved rate as req/s.
    /// </summary>
    public string MarkdownRow()
    {
        var load = Concurrency is { } c ? c.ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{TargetRate:0.##}/s");
        var r = Result;
        return string.Create(CultureInfo.InvariantCulture,
            $"| {Label} | {load} | {r.Requests} | {r.Errors} | {r.Percentile(50):F0} | {r.Percentile(90):F0} | {r.Percentile(99):F0} | {r.MaxUs:F0} | {r.Throughput:F0} |");
    }

    /// <summary>
    /// The run as one JSON object on one line (snake_case names, latencies in microseconds); with
    /// <see cref="Server"/>, its <c>server_*</c> fields too.
    /// </summary>
    public string JsonLine()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            var r = Result;
            json.WriteStartObject();
            json.WriteString("label", Label);
            json.WriteString("model", Model);
            json.WriteString("transport", Transport);
            json.WriteString("loop", Concurrency is null ? "open" : "closed");
            WriteNumberOrNull(json, "concurrency", Concurrency);
            WriteNumberOrNull(json, "target_rate", TargetRate);
            json.WriteNumber("requests", r.Requests);
            json.WriteNumber("errors", r.Errors);
            json.WriteString("first_error", r.FirstError);
            json.WriteNumber("seconds", r.Seconds);
            json.WriteNumber("throughput", r.Throughput);
            json.WriteNumber("p50_us", r.Percentile(50));
            json.WriteNumber("p90_us", r.Percentile(90));
            json.WriteNumber("p99_us", r.Percentile(99));
            json.WriteNumber("max_us", r.MaxUs);
            WriteNumberOrNull(json, "ok_p99_us", r.OkLatenciesUs.Length > 0 ? LoadResult.NearestRank(r.OkLatenciesUs, 99) : null);
            WriteNumberOrNull(json, "error_p99_us", r.ErrorLatenciesUs.Length > 0 ? LoadResult.NearestRank(r.ErrorLatenciesUs, 99) : null);
            WriteNumberOrNull(json, "send_lag_p99_us", r.SendLagP99Us);
            json.WriteNumber("checked", r.Checked);
            json.WriteNumber("mismatches", r.Mismatches);
            json.WriteString("first_mismatch", r.FirstMismatch);
            if (Server is { } server)
            {
                WriteNumberOrNull(json, "server_cpu_us_per_request", server.CpuUsPerRequest(r.Requests));
                json.WriteString("server_cpu_source", server.CpuSource);
                WriteNumberOrNull(json, "server_inferences", server.Inferences);
                WriteNumberOrNull(json, "server_executions", server.Executions);
                WriteNumberOrNull(json, "server_mean_batch", server.MeanBatch);
            }

            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteNumberOrNull(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
