using Pronto.Core.Errors;
using Pronto.Core.Inference;

namespace Pronto.Sql;

/// <summary>
/// The functions registered on one connection: they share the inference service and count the engine runs
/// they make (one per DuckDB chunk and model, more when a chunk exceeds the model's max_batch_size).
/// Callbacks run on DuckDB's worker threads, so everything here is thread-safe.
/// </summary>
public sealed class ProntoSqlFunctions
{
    private long _runs;
    private long _rows;
    private long _engineCpuTicks;
    private long _generations;
    private ProntoException? _lastFailure;

    internal ProntoSqlFunctions(InferenceService service) => Service = service;

    public InferenceService Service { get; }

    /// <summary>Engine runs (batched inferences) the SQL functions made.</summary>
    public long ModelRuns => Interlocked.Read(ref _runs);

    /// <summary>Rows sent to the engine (NULL rows are not).</summary>
    public long ModelRows => Interlocked.Read(ref _rows);

    /// <summary>Engine CPU time of those runs (each response's <see cref="InferenceResponse.EngineCpuTime"/>): what the queries cost.</summary>
    public TimeSpan EngineCpuTime => TimeSpan.FromTicks(Interlocked.Read(ref _engineCpuTicks));

    /// <summary>Completions <c>pronto_generate</c> made (one sequence each in the model's decode loop).</summary>
    public long Generations => Interlocked.Read(ref _generations);

    internal void CountGenerated(int sequences) => Interlocked.Add(ref _generations, sequences);

    /// <summary>The FLOAT[n] size <c>pronto_embed</c> returns; 0 when it was not registered (no text-embedding model).</summary>
    public int EmbeddingDimensions { get; internal set; }

    /// <summary>
    /// The last failure a function reported as a SQL error, with its <see cref="ErrorCode"/>, cleared by the call:
    /// DuckDB carries only the message across the native boundary, this keeps the code for front ends (exit codes).
    /// </summary>
    public ProntoException? TakeLastFailure() => Interlocked.Exchange(ref _lastFailure, null);

    internal InferenceResponse Run(string model, IReadOnlyList<NamedTensor> inputs, int rows)
    {
        var response = Service.InferDirect(new InferenceRequest { ModelName = model, Inputs = inputs });
        Interlocked.Increment(ref _runs);
        Interlocked.Add(ref _rows, rows);
        Interlocked.Add(ref _engineCpuTicks, response.EngineCpuTime.Ticks);
        return response;
    }

    /// <summary>The exception a callback reports: the function and model named, the code kept for <see cref="TakeLastFailure"/>.</summary>
    internal ProntoException Fail(string function, string? model, ProntoException e)
    {
        var failure = new ProntoException(e.Code, $"{function}({(model is null ? "" : $"'{model}'")}): {e.Message}", e);
        Volatile.Write(ref _lastFailure, failure);
        return failure;
    }

    internal ProntoException Fail(string function, string? model, ErrorCode code, string message) =>
        Fail(function, model, new ProntoException(code, message));
}
