using System.Text.Json;

namespace Pronto.LoadGen;

/// <summary>
/// Reads the server just before and just after each measured run, so warm-up and set-up stay out: its CPU time
/// (<c>--server-pid</c>, the process on this machine; <see cref="ServerCpu"/>) and the model's inference and
/// execution counts (<c>--server-stats</c>, from <c>GET {url}/v2/models/{model}/stats</c>, Triton's statistics).
/// Runs are sequential: one <see cref="StartAsync"/>, then one <see cref="StopAsync"/>.
/// </summary>
/// <param name="pid">The server's process id on this machine, or null not to read CPU time.</param>
/// <param name="statsUrl">The model's statistics address, e.g. <c>http://127.0.0.1:8000/v2/models/fraud/stats</c>, or null.</param>
public sealed class ServerProbe(int? pid, Uri? statsUrl) : IDisposable
{
    private readonly HttpClient? _http = statsUrl is null ? null : new HttpClient();
    private ServerCpuSample? _cpu;
    private (long Inferences, long Executions) _counts;

    /// <summary>Whether there is anything to read.</summary>
    public bool Enabled => pid is not null || statsUrl is not null;

    /// <summary>Reads the starting point, just before a run.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (statsUrl is not null)
        {
            _counts = await CountsAsync(cancellationToken).ConfigureAwait(false);
        }

        // Last, so that the stats request's own CPU stays out of the run.
        _cpu = pid is { } id ? ServerCpu.Read(id) : null;
    }

    /// <summary>Reads again, just after the run, and returns the differences.</summary>
    public async Task<ServerObservation> StopAsync(CancellationToken cancellationToken = default)
    {
        // First, for the same reason.
        var cpu = pid is { } id && _cpu is { } before ? ServerCpu.Between(before, ServerCpu.Read(id)) : ((double, string)?)null;
        long? inferences = null, executions = null;
        if (statsUrl is not null)
        {
            var counts = await CountsAsync(cancellationToken).ConfigureAwait(false);
            (inferences, executions) = (counts.Inferences - _counts.Inferences, counts.Executions - _counts.Executions);
        }

        return new ServerObservation(cpu?.Item1, cpu?.Item2, inferences, executions);
    }

    public void Dispose() => _http?.Dispose();

    /// <summary>inference_count and execution_count summed over the versions in the statistics response.</summary>
    private async Task<(long Inferences, long Executions)> CountsAsync(CancellationToken cancellationToken)
    {
        using var response = await _http!.GetAsync(statsUrl, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
        long inferences = 0, executions = 0;
        foreach (var version in json.RootElement.GetProperty("model_stats").EnumerateArray())
        {
            inferences += version.GetProperty("inference_count").GetInt64();
            executions += version.GetProperty("execution_count").GetInt64();
        }

        return (inferences, executions);
    }
}

/// <summary>What the server did during one run, as <see cref="ServerProbe"/> read it; a null part was not asked for.</summary>
/// <param name="CpuSeconds">CPU seconds the server process spent, all threads.</param>
/// <param name="CpuSource"><c>schedstat</c> (exact) or <c>stat</c> (10 ms ticks, when a thread exited meanwhile).</param>
/// <param name="Inferences">Rows the model ran (inference_count).</param>
/// <param name="Executions">Engine runs of the model (execution_count): one batch each.</param>
public sealed record ServerObservation(double? CpuSeconds, string? CpuSource, long? Inferences, long? Executions)
{
    /// <summary>Rows per engine run: 1 without dynamic batching, more when the batcher formed batches.</summary>
    public double? MeanBatch => Executions > 0 ? (double)Inferences!.Value / Executions.Value : null;

    /// <summary>Server CPU microseconds per request of a run of <paramref name="requests"/>.</summary>
    public double? CpuUsPerRequest(int requests) => CpuSeconds * 1e6 / requests;
}
