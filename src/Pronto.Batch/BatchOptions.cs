using Pronto.Core.Errors;

namespace Pronto.Batch;

/// <summary>Where a part's commit stands (<see cref="BatchOptions.CommitHook"/>).</summary>
public enum BatchCommitStage
{
    /// <summary>The part and its errors are written, durable, under their temporary names.</summary>
    BeforeRename,

    /// <summary>Both are renamed to their final names; the checkpoint does not record the part yet.</summary>
    BeforeCheckpoint,

    /// <summary>The checkpoint line is written: the part is committed.</summary>
    AfterCheckpoint,
}

/// <summary>What one <c>pronto batch</c> job does. Validated once (<see cref="Validate"/>) with the option's name in each message.</summary>
public sealed class BatchOptions
{
    /// <summary>Rows per output part: the unit of checkpointing and of sharding. Part boundaries are global row numbers.</summary>
    public const int DefaultPartRows = 100_000;

    /// <summary>Rows kept in flight between reader, scorer and writer: bounds memory whatever the input's size.</summary>
    public const int DefaultBufferRows = 32_768;

    public required string Model { get; init; }

    /// <summary>
    /// Called at each stage of every part's commit with the parts committed by this run so far (the part being
    /// committed included): an observer for hosts, and the crash tests' way in (kill the process, or throw what a
    /// full disk throws, at an exact commit point). An exception it throws fails the job as a failed write does, with
    /// the part not committed. Null (the default) calls nothing.
    /// </summary>
    public Action<BatchCommitStage, int>? CommitHook { get; set; }

    public required string Input { get; init; }

    public required string Output { get; init; }

    /// <summary>The column holding the model's single raw input (text or image), when it is not named after it.</summary>
    public string? Column { get; init; }

    /// <summary>Model input (field, <c>text</c>, <c>image</c>) -> input column, from <c>--map file.json</c>.</summary>
    public IReadOnlyDictionary<string, string> Map { get; init; } = new Dictionary<string, string>();

    /// <summary>Input columns copied to the output; null keeps them all.</summary>
    public IReadOnlyList<string>? KeepColumns { get; init; }

    public Shard Shard { get; init; } = Shard.Whole;

    public bool Resume { get; init; }

    /// <summary>The job stops (non-zero exit) once failed rows exceed this fraction of the rows processed.</summary>
    public double MaxErrorRate { get; init; } = 1.0;

    /// <summary>Rows per engine run; 0 takes the model's max_batch_size.</summary>
    public int BatchSize { get; init; }

    public int PartRows { get; init; } = DefaultPartRows;

    /// <summary>
    /// Batches the engine runs at once, each on its own scorer thread; the output order stays the input's. The
    /// CLI runs one per core with ONNX Runtime's intra-op pool at one thread: independent batches in parallel
    /// instead of one batch split across threads, which costs a cheap model CPU and changes float sums.
    /// </summary>
    public int ConcurrentRuns { get; init; } = 1;

    public int BufferRows { get; init; } = DefaultBufferRows;

    /// <summary>Bytes of the file read buffer (tests set it tiny to prove streaming).</summary>
    public int ReadBufferBytes { get; init; } = 1 << 16;

    /// <summary>Rows per Parquet row group written.</summary>
    public int RowGroupRows { get; init; } = 65_536;

    /// <summary>The Parquet output's codec: snappy (the default), zstd or none.</summary>
    public string Codec { get; init; } = "snappy";

    /// <summary>Tokens a generative model generates a row at most (greedy); as <c>pronto_generate</c>'s and OpenAI's completions' default, 16.</summary>
    public int MaxTokens { get; init; } = 16;

    /// <summary>A generative model's sampling: 0 (the default) is greedy; above 0, row r draws from the seed <see cref="Seed"/> + r.</summary>
    public float Temperature { get; init; }

    public float TopP { get; init; } = 1f;

    public int TopK { get; init; }

    /// <summary>Row r's draws use the seed Seed + r (its global row number), so a row's text does not depend on the batching or on which run resumes it.</summary>
    public ulong Seed { get; init; }

    /// <summary>parquet or jsonl for a folder output; a file output takes its extension's.</summary>
    public string? Format { get; init; }

    public void Validate()
    {
        if (MaxErrorRate is < 0 or > 1 || double.IsNaN(MaxErrorRate))
        {
            ProntoErrors.InvalidArgument($"--max-error-rate must be between 0 and 1, got {MaxErrorRate}");
        }

        if (BatchSize < 0)
        {
            ProntoErrors.InvalidArgument($"--batch-size must be positive, got {BatchSize}");
        }

        if (ConcurrentRuns < 1)
        {
            ProntoErrors.InvalidArgument($"--concurrent-runs must be positive, got {ConcurrentRuns}");
        }

        if (MaxTokens < 1)
        {
            ProntoErrors.InvalidArgument($"--max-tokens must be at least 1, got {MaxTokens}");
        }

        if (Codec is not ("snappy" or "zstd" or "none"))
        {
            ProntoErrors.InvalidArgument($"--codec must be snappy, zstd or none, got '{Codec}'");
        }

        if (PartRows < 1)
        {
            ProntoErrors.InvalidArgument($"--part-rows must be positive, got {PartRows}");
        }

        if (BufferRows < 1 || ReadBufferBytes < 16 || RowGroupRows < 1)
        {
            ProntoErrors.InvalidArgument($"--buffer-rows, the read buffer and the row group size must be positive");
        }
    }
}
