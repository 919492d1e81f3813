using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Pronto.Batch;
using Pronto.Core.Errors;
using Spectre.Console;

namespace Pronto.Cli.Commands;

/// <summary>
/// <c>pronto batch MODEL --input FILE|DIR --output FILE|DIR</c>: scores a CSV / JSONL / Parquet input into
/// Parquet or JSONL, with per-row errors, exactly-once resume and sharding (docs/batch.md).
/// </summary>
internal static class BatchCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Argument<string>("model") { Description = "The model to score with." };
        var input = new Option<string>("--input", "-i") { Description = "A .csv, .jsonl or .parquet file, or a folder of them (read in name order).", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "A .parquet or .jsonl file (merged at the end), or a folder of ordered parts.", Required = true };
        var column = new Option<string?>("--column") { Description = "The input column holding the text, image (paths or bytes) or prompt for models that take one." };
        var map = new Option<string?>("--map") { Description = "A JSON file {\"model input or field\": \"column\"} renaming the columns the model reads." };
        var keep = new Option<string?>("--keep-columns") { Description = "Comma-separated input columns to copy to the output (default: all; \"\" for none)." };
        var shard = new Option<string?>("--shard") { Description = "i/N: score the i-th (from 0) of N deterministic shards of the input." };
        var resume = new Option<bool>("--resume") { Description = "Finish an interrupted job: committed parts are kept, the rest is redone." };
        var maxErrorRate = new Option<double>("--max-error-rate") { Description = "Stop (exit 6) once failed rows exceed this fraction of rows.", DefaultValueFactory = _ => 1.0 };
        var batchSize = new Option<int>("--batch-size") { Description = "Rows per engine run (default: the model's max_batch_size)." };
        var partRows = new Option<int>("--part-rows") { Description = "Rows per output part, the unit of checkpoints and shards.", DefaultValueFactory = _ => BatchOptions.DefaultPartRows };
        var bufferRows = new Option<int>("--buffer-rows") { Description = "Rows in flight between reading, scoring and writing (bounds memory).", DefaultValueFactory = _ => BatchOptions.DefaultBufferRows };
        var runs = new Option<int>("--concurrent-runs") { Description = "Batches the engine runs at once, each on one thread (default: one per core)." };
        var format = new Option<string?>("--format") { Description = "parquet or jsonl, for a folder output (default parquet)." };
        format.AcceptOnlyFromAmong("parquet", "jsonl");
        var codec = new Option<string>("--codec") { Description = "The Parquet output's codec: snappy, zstd or none.", DefaultValueFactory = _ => "snappy" };
        codec.AcceptOnlyFromAmong("snappy", "zstd", "none");
        var maxTokens = new Option<int>("--max-tokens") { Description = "A generative model's tokens per row at most (greedy completion of the prompt column).", DefaultValueFactory = _ => 16 };
        var temperature = new Option<float>("--temperature") { Description = "A generative model's sampling temperature (default 0: greedy)." };
        var topP = new Option<float>("--top-p") { Description = "Nucleus sampling for a generative model (default 1: all tokens).", DefaultValueFactory = _ => 1f };
        var topK = new Option<int>("--top-k") { Description = "Only the k most likely tokens for a generative model (default 0: all)." };
        var seed = new Option<ulong>("--seed") { Description = "With --temperature above 0, row r samples from seed + r: reproducible and resumable (default 0)." };
        var command = new Command("batch", "Score a large file or folder offline: per-row errors, resumable, shardable.")
        {
            model, input, output, column, map, keep, shard, resume, maxErrorRate, batchSize, partRows, bufferRows, runs, format, codec, maxTokens,
            temperature, topP, topK, seed,
        };
        command.SetAction((parse, ct) =>
        {
            var keepText = parse.GetValue(keep);
            var options = new BatchOptions
            {
                Model = parse.GetValue(model)!,
                Input = parse.GetValue(input)!,
                Output = parse.GetValue(output)!,
                Column = parse.GetValue(column),
                Map = ReadMap(parse.GetValue(map)),
                KeepColumns = keepText is null ? null : keepText.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
                Shard = parse.GetValue(shard) is { } s ? Shard.Parse(s) : Shard.Whole,
                Resume = parse.GetValue(resume),
                MaxErrorRate = parse.GetValue(maxErrorRate),
                BatchSize = parse.GetValue(batchSize),
                PartRows = parse.GetValue(partRows),
                BufferRows = parse.GetValue(bufferRows),
                ConcurrentRuns = parse.GetValue(runs) is var n && n != 0 ? n : Environment.ProcessorCount,
                Format = parse.GetValue(format),
                Codec = parse.GetValue(codec)!,
                MaxTokens = parse.GetValue(maxTokens),
                Temperature = parse.GetValue(temperature),
                TopP = parse.GetValue(topP),
                TopK = parse.GetValue(topK),
                Seed = parse.GetValue(seed),
                CommitHook = context.BatchCommitHook,
            };
            return RunAsync(context, parse.GetValue(context.RepositoryOption), options, ct);
        });
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, string? repositoryPath, BatchOptions options, CancellationToken ct)
    {
        options.Validate();
        // Throughput, not latency: each batch runs on one thread and --concurrent-runs batches (one per core by
        // default) run at once. Splitting one batch across threads costs a cheap model CPU (fraud's trees: 1.0 vs
        // 0.82 CPU-s per 1,000 rows on two cores) and makes its float sums depend on the thread count; one thread
        // per batch keeps every part's bytes the same whatever the cores or runs of the worker that writes or resumes it.
        using var repository = context.OpenRepository(repositoryPath, new Onnx.OnnxBackendOptions { IntraOpThreads = 1 });
        repository.ModelDirectory(options.Model);
        repository.Load(options.Model, ct);
        var service = CliContext.Service(repository);
        var progress = new BatchProgress();
        var job = BatchJob.RunAsync(service, options, progress, ct);
        await ShowProgressAsync(context, job, progress);
        var result = await job;
        WriteSummary(context, result);
        if (result.ErrorRateExceeded)
        {
            await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"error: {result.TotalErrors} of {result.TotalRows} rows failed, more than --max-error-rate {options.MaxErrorRate}; the failed rows are in the part-*.errors.jsonl files of the output folder (or <output>.parts); committed parts are kept"));
            return ExitCodes.TooManyErrors;
        }

        return ExitCodes.Success;
    }

    /// <summary>A Spectre progress bar (rows/s, ETA from the estimated completion) on a terminal; a plain line every 10 s otherwise.</summary>
    private static async Task ShowProgressAsync(CliContext context, Task job, BatchProgress progress)
    {
        var start = DateTime.UtcNow;
        if (!ReferenceEquals(context.Output, Console.Out) || Console.IsOutputRedirected)
        {
            while (await Task.WhenAny(job, Task.Delay(TimeSpan.FromSeconds(10))) != job)
            {
                var seconds = (DateTime.UtcNow - start).TotalSeconds;
                await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"batch: {progress.Rows} rows, {progress.Errors} errors, {progress.Rows / Math.Max(seconds, 1e-9):F0} rows/s, ~{progress.Completion:P0} done"));
            }

            return;
        }

        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new ElapsedTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask("scoring", maxValue: 1.0);
                while (await Task.WhenAny(job, Task.Delay(TimeSpan.FromMilliseconds(250))) != job)
                {
                    var seconds = (DateTime.UtcNow - start).TotalSeconds;
                    task.Value = progress.Completion;
                    task.Description = string.Create(CultureInfo.InvariantCulture, $"{progress.Rows:N0} rows, {progress.Errors:N0} errors, {progress.Rows / Math.Max(seconds, 1e-9):N0} rows/s");
                }

                task.Value = 1.0;
            });
    }

    private static void WriteSummary(CliContext context, BatchJobResult r)
    {
        if (r.AlreadyComplete)
        {
            context.Output.WriteLine($"already complete: {r.Output}");
            return;
        }

        context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"rows {r.Rows} (job total {r.TotalRows}), written {r.Written}, errors {r.Errors} (job total {r.TotalErrors}), parts {r.PartsWritten} written + {r.PartsSkipped} resumed"));
        context.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wall {r.Elapsed.TotalSeconds:F2} s, {r.RowsPerSecond:F0} rows/s, {r.CpuSecondsPerThousandRows:G3} CPU-s per 1,000 rows (engine {r.EngineCpuSecondsPerThousandRows:G3}, JIT {r.JitTime.TotalSeconds:F2} s, {r.JitMethods} methods)"));
        context.Output.WriteLine($"output {r.Output}");
        context.Output.WriteLine($"errors {r.ErrorsFile}");
    }

    private static Dictionary<string, string> ReadMap(string? path)
    {
        if (path is null)
        {
            return [];
        }

        if (!File.Exists(path))
        {
            ProntoErrors.InvalidArgument($"--map file '{path}' does not exist");
        }

        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), CliJsonContext.Default.DictionaryStringString) ?? [];
        }
        catch (JsonException e)
        {
            return ProntoErrors.InvalidArgument<Dictionary<string, string>>($"--map file '{path}' must be a JSON object of strings {{\"field\": \"column\"}}: {e.Message}");
        }
    }
}
