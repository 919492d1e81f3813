using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Channels;
using Pronto.Batch.Input;
using Pronto.Batch.Output;
using Pronto.Batch.Scoring;
using Pronto.Core.Errors;
using Pronto.Core.Inference;

namespace Pronto.Batch;

/// <summary>
/// One <c>pronto batch</c> job: read -> score -> write, three tasks joined by bounded channels so reading,
/// running the engine and writing overlap while memory stays bounded by <see cref="BatchOptions.BufferRows"/>.
/// Rows are grouped into parts of <see cref="BatchOptions.PartRows"/> global row numbers; each part is written
/// to a temporary name, flushed, renamed, then recorded in the checkpoint, so after a crash at any moment
/// <c>--resume</c> skips exactly the recorded parts and redoes the rest, and the output equals an uninterrupted
/// run's row for row.
/// </summary>
public sealed class BatchJob
{
    private readonly InferenceService _service;
    private readonly BatchOptions _options;
    private readonly BatchProgress _progress;
    private readonly OutputLayout _layout;

    private BatchJob(InferenceService service, BatchOptions options, BatchProgress progress)
    {
        _service = service;
        _options = options;
        _progress = progress;
        _layout = new OutputLayout(options);
    }

    public static Task<BatchJobResult> RunAsync(InferenceService service, BatchOptions options, BatchProgress? progress = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        return new BatchJob(service, options, progress ?? new BatchProgress()).RunAsync(cancellationToken);
    }

    private async Task<BatchJobResult> RunAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        var engineStart = EngineCpuNs();
        var jitStart = System.Runtime.JitInfo.GetCompilationTime();
        var jitMethods = System.Runtime.JitInfo.GetCompiledMethodCount();
        var layout = _layout;
        if (!_options.Resume && layout.ExistingOutput() is { } existing)
        {
            ProntoErrors.InvalidArgument($"output '{existing}' already exists; pass --resume to finish that job, or remove it first");
        }

        if (layout.IsFile && _options.Resume && File.Exists(layout.Output) && !File.Exists(layout.CheckpointFile))
        {
            // Merged, renamed and cleaned up by an earlier run: nothing is left to do.
            return Done(clock, cpuStart, alreadyComplete: true);
        }

        var input = await InputSource.OpenAsync(_options.Input, _options.ReadBufferBytes, cancellationToken);
        var scorer = new RowScorer(_service, _options.Model, input, _options);
        var batchSize = !scorer.Generates ? BatchSizeOf() : _options.BatchSize > 0 ? _options.BatchSize : scorer.GenerationBatchSize;
        var job = JobLine(input, scorer, batchSize);
        Directory.CreateDirectory(layout.WorkFolder);
        var checkpoint = _options.Resume && Checkpoint.Exists(layout.CheckpointFile)
            ? Checkpoint.Load(layout.CheckpointFile, job)
            : Checkpoint.Create(layout.CheckpointFile, job);
        if (checkpoint.Complete)
        {
            CleanUp(checkpoint);
            return Done(clock, cpuStart, alreadyComplete: true);
        }

        var state = new RunState(checkpoint);
        var totalBytes = input.TotalBytes;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var capacity = Math.Max(1, _options.BufferRows / batchSize);
        var work = Channel.CreateBounded<Work>(new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true });
        var scored = Channel.CreateBounded<Task<Scored>>(new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true });
        Task[] tasks =
        [
            Guard(() => ReadAsync(input, scorer.NeededColumns(), checkpoint, batchSize, work.Writer, totalBytes, stop.Token), stop),
            Guard(() => ScoreAsync(scorer, work.Reader, scored.Writer, capacity, stop), stop),
            Guard(() => WriteAsync(scorer.OutputColumns, scored.Reader, checkpoint, state, stop), stop),
            Guard(() => _layout.Format == "parquet" && !scorer.Generates ? ParquetPartWriter.WarmUpAsync(scorer.OutputColumns, scorer.Classifies, stop.Token) : Task.CompletedTask, stop),
        ];
        try
        {
            await Task.WhenAll(tasks);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // One stage failed and cancelled the others: surface its error, not their cancellations.
            var cause = tasks.Where(t => t.IsFaulted).SelectMany(t => t.Exception!.InnerExceptions).FirstOrDefault(e => e is not OperationCanceledException);
            if (cause is not null)
            {
                ExceptionDispatchInfo.Throw(cause);
            }

            if (!state.ErrorRateExceeded)
            {
                throw;
            }

            // The writer stopped the job for its error rate; what was committed stays committed.
        }

        if (!state.ErrorRateExceeded)
        {
            try
            {
                await FinishAsync(checkpoint, scorer.OutputColumns, cancellationToken);
            }
            catch (IOException e)
            {
                throw WriteFailures.From(e, $"the merged output {layout.Output}");
            }
        }

        return new BatchJobResult
        {
            Rows = state.Rows,
            Written = state.Written,
            Errors = state.Errors,
            TotalRows = state.TotalRows,
            TotalErrors = state.TotalErrors,
            PartsWritten = state.Parts,
            PartsSkipped = state.Skipped,
            Elapsed = clock.Elapsed,
            CpuTime = Process.GetCurrentProcess().TotalProcessorTime - cpuStart,
            EngineCpuTime = TimeSpan.FromTicks((EngineCpuNs() - engineStart) / 100),
            JitTime = System.Runtime.JitInfo.GetCompilationTime() - jitStart,
            JitMethods = System.Runtime.JitInfo.GetCompiledMethodCount() - jitMethods,
            ErrorRateExceeded = state.ErrorRateExceeded,
            Output = layout.Output,
            ErrorsFile = layout.ErrorsFile,
        };
    }

    /// <summary>
    /// The engine CPU the job's model has cost so far, every version, from the repository's lifetime totals (the serving
    /// path's cost counter, <see cref="CpuClock"/>): its change over the job is the job's engine cost, when nothing else
    /// in the process uses the model meanwhile.
    /// </summary>
    private long EngineCpuNs()
    {
        long total = 0;
        foreach (var (name, _, statistics) in _service.Repository.LifetimeStatistics())
        {
            if (name == _options.Model)
            {
                total += statistics.Snapshot().CostCpuNs;
            }
        }

        return total;
    }

    /// <summary>Runs a pipeline stage; a stage that fails cancels the others, so no stage waits forever on a full channel.</summary>
    private static async Task Guard(Func<Task> stage, CancellationTokenSource stop)
    {
        try
        {
            await Task.Run(stage);
        }
        catch
        {
            await stop.CancelAsync();
            throw;
        }
    }

    private BatchJobResult Done(Stopwatch clock, TimeSpan cpuStart, bool alreadyComplete) => new()
    {
        Elapsed = clock.Elapsed,
        CpuTime = Process.GetCurrentProcess().TotalProcessorTime - cpuStart,
        AlreadyComplete = alreadyComplete,
        Output = _layout.Output,
        ErrorsFile = _layout.ErrorsFile,
    };

    private int BatchSizeOf()
    {
        using var lease = _service.Repository.Acquire(_options.Model);
        var max = lease.Model.Config.MaxBatchSize;
        if (_options.BatchSize == 0)
        {
            // The size the model runs best at (its preferred batch size), not necessarily the largest it accepts.
            var preferred = lease.Model.Config.PreferredRunSize;
            return preferred > 0 ? preferred : 1;
        }

        if (max > 0 && _options.BatchSize > max)
        {
            ProntoErrors.InvalidArgument($"--batch-size {_options.BatchSize} exceeds model '{_options.Model}' max_batch_size {max}");
        }

        return max > 0 ? _options.BatchSize : 1;
    }

    /// <summary>The checkpoint's first line: everything that decides which rows land in which part, and how.</summary>
    private string JobLine(InputSource input, RowScorer scorer, int batchSize)
    {
        using var lease = _service.Repository.Acquire(_options.Model);
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("model", _options.Model);
            json.WriteString("version", lease.Model.VersionText);
            json.WriteStartArray("input");
            foreach (var file in input.Files)
            {
                json.WriteStartObject();
                json.WriteString("name", Path.GetFileName(file));
                json.WriteNumber("bytes", new FileInfo(file).Length);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("mapped");
            foreach (var c in scorer.MappedColumns)
            {
                json.WriteStringValue(c);
            }

            json.WriteEndArray();
            json.WriteStartArray("columns");
            foreach (var c in scorer.OutputColumns)
            {
                json.WriteStringValue(c.Name + ":" + c.Kind);
            }

            json.WriteEndArray();
            json.WriteNumber("partRows", _options.PartRows);
            json.WriteNumber("batchSize", batchSize);
            json.WriteString("shard", _options.Shard.ToString());
            json.WriteString("format", _layout.Format);
            json.WriteString("codec", _options.Codec);
            if (scorer.Generates)
            {
                json.WriteNumber("maxTokens", _options.MaxTokens);
                json.WriteNumber("temperature", _options.Temperature);
                json.WriteNumber("topP", _options.TopP);
                json.WriteNumber("topK", _options.TopK);
                json.WriteNumber("seed", _options.Seed);
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>
    /// Cuts the input's groups into batches of one part: <paramref name="batchSize"/> rows of a part (a batch may span
    /// groups), the parts owned by this shard and not committed yet, each part's last batch marked.
    /// </summary>
    private async Task ReadAsync(InputSource input, bool[] needed, Checkpoint checkpoint, int batchSize, ChannelWriter<Work> output, long totalBytes, CancellationToken ct)
    {
        try
        {
            var partRows = _options.PartRows;
            var shard = _options.Shard;
            var committed = checkpoint.Parts.Keys.ToHashSet();
            bool Wanted(long p) => shard.Owns(p) && !committed.Contains(p);
            bool AnyWanted(long start, int rows)
            {
                for (var p = start / partRows; p <= (start + rows - 1) / partRows; p++)
                {
                    if (Wanted(p))
                    {
                        return true;
                    }
                }

                return false;
            }

            // A part's last batch is known only when the next batch (or the end) comes: hold one back.
            Work? pending = null;
            async ValueTask SendAsync(Work next)
            {
                if (pending is not null)
                {
                    _progress.Queued(pending.Chunk.Count);
                    await output.WriteAsync(pending with { EndOfPart = pending.Part != next.Part }, ct);
                    _progress.SetInput(input.ConsumedBytes, totalBytes);
                }

                pending = next;
            }

            // Batches are cut by row number alone (batchSize rows of a part, across groups and files): the engine's
            // float sums may depend on a batch's size, and the output must not depend on how the input is grouped.
            var segments = new List<(ColumnGroup Group, int Offset, int Count)>();
            var filled = 0;
            long batchPart = -1;
            async ValueTask EmitAsync()
            {
                if (filled > 0)
                {
                    await SendAsync(new Work(batchPart, Join(segments, filled), false));
                }

                segments.Clear();
                filled = 0;
            }

            await foreach (var group in input.ReadAsync(needed, AnyWanted, ct))
            {
                var r = 0;
                // Each segment holds a reference to its group; the reader's own goes once the group is cut.
                using var cut = new GroupReference(group);
                while (r < group.Rows)
                {
                    var p = (group.Start + r) / partRows;
                    var end = (int)Math.Min(group.Rows, ((p + 1) * partRows) - group.Start);
                    if (!Wanted(p))
                    {
                        r = end;
                        continue;
                    }

                    if (p != batchPart)
                    {
                        await EmitAsync();
                        batchPart = p;
                    }

                    while (r < end)
                    {
                        var take = Math.Min(batchSize - filled, end - r);
                        group.Retain();
                        segments.Add((group, r, take));
                        filled += take;
                        r += take;
                        if (filled == batchSize)
                        {
                            await EmitAsync();
                        }
                    }
                }
            }

            await EmitAsync();
            if (pending is not null)
            {
                _progress.Queued(pending.Chunk.Count);
                await output.WriteAsync(pending with { EndOfPart = true }, ct);
            }

            _progress.SetInput(totalBytes, totalBytes);
            output.Complete();
        }
        catch (Exception e)
        {
            output.Complete(e);
            throw;
        }
    }

    /// <summary>
    /// One batch's segments as a chunk: the row group itself when it is one segment (the segment's reference passes
    /// to the chunk), else a group of its own holding a copy of the read columns (the segments' references released).
    /// </summary>
    private static ColumnChunk Join(List<(ColumnGroup Group, int Offset, int Count)> segments, int count)
    {
        var (first, offset, _) = segments[0];
        if (segments.Count == 1)
        {
            return new ColumnChunk(first, offset, count);
        }

        var columns = new ColumnData?[first.Columns.Length];
        for (var c = 0; c < columns.Length; c++)
        {
            if (first.Columns[c] is not { } source)
            {
                continue;
            }

            var nullable = false;
            foreach (var (group, _, _) in segments)
            {
                nullable |= group.Columns[c]!.Nulls is not null;
            }

            var joined = ColumnData.Rent(source.Kind, count, nullable);
            var at = 0;
            foreach (var (group, from, n) in segments)
            {
                group.Columns[c]!.CopyTo(from, joined, at, n);
                at += n;
            }

            columns[c] = joined;
        }

        foreach (var (group, _, _) in segments)
        {
            group.Release();
        }

        return new ColumnChunk(new ColumnGroup(first.Start + offset, count, columns), 0, count);
    }

    /// <summary>Releases a group's reference at the end of a scope.</summary>
    private readonly struct GroupReference(ColumnGroup group) : IDisposable
    {
        public void Dispose() => group.Release();
    }

    /// <summary>
    /// Hands each batch to one of <see cref="BatchOptions.ConcurrentRuns"/> scorer threads and passes its result,
    /// a task, to the writer in input order: batches are scored in parallel, written in sequence.
    /// </summary>
    private Task ScoreAsync(RowScorer scorer, ChannelReader<Work> input, ChannelWriter<Task<Scored>> output, int capacity, CancellationTokenSource stop)
    {
        var ct = stop.Token;
        var runs = Math.Max(1, _options.ConcurrentRuns);
        var queue = Channel.CreateBounded<(Work Work, TaskCompletionSource<Scored> Done)>(new BoundedChannelOptions(capacity) { SingleWriter = true, SingleReader = runs == 1 });
        var scorers = new Task[runs + 1];
        for (var i = 0; i < runs; i++)
        {
            // Engine runs block their thread for the whole batch: dedicated threads, so the pool stays free for reading and writing.
            scorers[i] = Task.Factory.StartNew(() => ScoreLoop(scorer, queue.Reader, ct), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        scorers[runs] = DispatchAsync(input, queue.Writer, output, ct);
        return Task.WhenAll(scorers);
    }

    private static async Task DispatchAsync(ChannelReader<Work> input, ChannelWriter<(Work, TaskCompletionSource<Scored>)> queue, ChannelWriter<Task<Scored>> output, CancellationToken ct)
    {
        try
        {
            await foreach (var work in input.ReadAllAsync(ct))
            {
                var done = new TaskCompletionSource<Scored>(TaskCreationOptions.RunContinuationsAsynchronously);
                await queue.WriteAsync((work, done), ct);
                await output.WriteAsync(done.Task, ct);
            }

            queue.Complete();
            output.Complete();
        }
        catch (Exception e)
        {
            queue.Complete(e);
            output.Complete(e);
            throw;
        }
    }

    private static void ScoreLoop(RowScorer scorer, ChannelReader<(Work Work, TaskCompletionSource<Scored> Done)> queue, CancellationToken ct)
    {
        var buffer = new FeatureBuffer();
        while (WaitToRead(queue, ct))
        {
            while (queue.TryRead(out var item))
            {
                try
                {
                    item.Done.SetResult(Score(scorer, item.Work, buffer));
                }
                catch (Exception e)
                {
                    item.Done.TrySetException(e);
                    throw;
                }
            }
        }
    }

    private static bool WaitToRead<T>(ChannelReader<T> reader, CancellationToken ct)
    {
        var wait = reader.WaitToReadAsync(ct);
        return wait.IsCompletedSuccessfully ? wait.Result : wait.AsTask().GetAwaiter().GetResult();
    }

    private static Scored Score(RowScorer scorer, Work work, FeatureBuffer buffer)
    {
        var errors = new List<RowError>();
        return new Scored(work.Part, work.Chunk.Count, scorer.Score(work.Chunk, errors, buffer), errors, work.EndOfPart);
    }

    private async Task WriteAsync(IReadOnlyList<Column> columns, ChannelReader<Task<Scored>> input, Checkpoint checkpoint, RunState state, CancellationTokenSource stop)
    {
        var ct = stop.Token;
        IPartWriter? part = null;
        Stream? errors = null;
        Utf8JsonWriter? errorJson = null;
        long current = -1, rows = 0, written = 0, failed = 0;
        try
        {
            await foreach (var next in input.ReadAllAsync(ct))
            {
                var batch = await next.WaitAsync(ct);
                if (part is null)
                {
                    current = batch.Part;
                    rows = written = failed = 0;
                    part = OpenPart(columns, AtomicFile.TempOf(_layout.PartFile(current)));
                    errors = new FileStream(AtomicFile.TempOf(_layout.PartErrorsFile(current)), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
                    errorJson = new Utf8JsonWriter(errors, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
                }

                // The writer copies what it keeps: the batch's group may go back to the pool.
                await part.WriteAsync(batch.Columns, ct);
                batch.Columns.Chunk.Group.Release();

                foreach (var error in batch.Errors)
                {
                    WriteError(errorJson!, errors!, error);
                }

                rows += batch.InputRows;
                written += batch.Columns.Count;
                failed += batch.Errors.Count;
                _progress.Add(batch.InputRows, batch.Errors.Count);
                if (!batch.EndOfPart)
                {
                    continue;
                }

                await part.CompleteAsync(ct);
                await part.DisposeAsync();
                part = null;
                await errorJson!.DisposeAsync();
                await errors!.DisposeAsync();
                errors = null;
                Commit(checkpoint, state, new PartEntry(current, rows, written, failed));
                if (state.TotalErrors > _options.MaxErrorRate * state.TotalRows)
                {
                    state.ErrorRateExceeded = true;
                    await stop.CancelAsync();
                    ct.ThrowIfCancellationRequested();
                }
            }
        }
        catch (IOException e)
        {
            throw WriteFailures.From(e, $"part {current} ({Path.GetFileName(_layout.PartFile(current))})");
        }
        finally
        {
            // Only a failed part is still open here, and a full disk can fail these flushes too: the error above is the one to report.
            try
            {
                if (part is not null)
                {
                    await part.DisposeAsync();
                }

                if (errors is not null)
                {
                    await errors.DisposeAsync();
                }
            }
            catch (IOException)
            {
            }
        }
    }

    private IPartWriter OpenPart(IReadOnlyList<Column> columns, string temp)
    {
        var stream = new FileStream(temp, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        return _layout.Format == "jsonl" ? new JsonlPartWriter(stream, columns) : new ParquetPartWriter(stream, columns, _options.RowGroupRows, ParquetPartWriter.CodecOf(_options.Codec));
    }

    private static void WriteError(Utf8JsonWriter json, Stream stream, RowError error)
    {
        json.Reset();
        json.WriteStartObject();
        json.WriteNumber("row", error.Row);
        json.WriteString("file", error.File);
        json.WriteString("error", error.Error);
        json.WriteEndObject();
        json.Flush();
        stream.WriteByte((byte)'\n');
    }

    /// <summary>The commit protocol: durable temp files -> rename -> checkpoint line. The line is the commit point.</summary>
    private void Commit(Checkpoint checkpoint, RunState state, PartEntry entry)
    {
        state.Parts++;
        _options.CommitHook?.Invoke(BatchCommitStage.BeforeRename, state.Parts);
        AtomicFile.Commit(AtomicFile.TempOf(_layout.PartErrorsFile(entry.Part)), _layout.PartErrorsFile(entry.Part));
        AtomicFile.Commit(AtomicFile.TempOf(_layout.PartFile(entry.Part)), _layout.PartFile(entry.Part));
        _options.CommitHook?.Invoke(BatchCommitStage.BeforeCheckpoint, state.Parts);
        checkpoint.Commit(entry);
        _options.CommitHook?.Invoke(BatchCommitStage.AfterCheckpoint, state.Parts);
        state.Rows += entry.Rows;
        state.Written += entry.Written;
        state.Errors += entry.Errors;
        state.TotalRows += entry.Rows;
        state.TotalErrors += entry.Errors;
    }

    /// <summary>Merges the errors (and, for a file output, the parts), then marks the job complete.</summary>
    private async Task FinishAsync(Checkpoint checkpoint, IReadOnlyList<Column> columns, CancellationToken ct)
    {
        var parts = checkpoint.Parts.Values.OrderBy(p => p.Part).ToList();
        var errorsTemp = AtomicFile.TempOf(_layout.ErrorsFile);
        await using (var merged = new FileStream(errorsTemp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            foreach (var part in parts)
            {
                await using var source = File.OpenRead(_layout.PartErrorsFile(part.Part));
                await source.CopyToAsync(merged, ct);
            }
        }

        AtomicFile.Commit(errorsTemp, _layout.ErrorsFile);
        if (_layout.IsFile)
        {
            var temp = AtomicFile.TempOf(_layout.Output);
            await using (var stream = new FileStream(temp, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16))
            {
                var nonEmpty = parts.Where(p => p.Written > 0).Select(p => _layout.PartFile(p.Part)).ToList();
                if (_layout.Format == "jsonl")
                {
                    foreach (var file in nonEmpty)
                    {
                        await using var source = File.OpenRead(file);
                        await source.CopyToAsync(stream, ct);
                    }
                }
                else if (nonEmpty.Count == 0)
                {
                    var empty = new ParquetPartWriter(stream, columns, 1, ParquetPartWriter.CodecOf(_options.Codec));
                    await empty.CompleteAsync(ct);
                }
                else
                {
                    await ParquetConcatenation.ConcatenateAsync(nonEmpty, stream, ct);
                }
            }

            AtomicFile.Commit(temp, _layout.Output);
        }

        checkpoint.MarkComplete();
        CleanUp(checkpoint);
    }

    private void CleanUp(Checkpoint checkpoint)
    {
        if (_layout.IsFile && checkpoint.Complete)
        {
            Directory.Delete(_layout.WorkFolder, recursive: true);
        }
    }

    /// <summary>A batch of one part: some of its input rows.</summary>
    private sealed record Work(long Part, ColumnChunk Chunk, bool EndOfPart);

    private sealed record Scored(long Part, int InputRows, ScoredColumns Columns, List<RowError> Errors, bool EndOfPart);

    private sealed class RunState(Checkpoint checkpoint)
    {
        public long Rows;
        public long Written;
        public long Errors;
        public long TotalRows = checkpoint.Parts.Values.Sum(p => p.Rows);
        public long TotalErrors = checkpoint.Parts.Values.Sum(p => p.Errors);
        public int Parts;
        public int Skipped = checkpoint.Parts.Count;
        public bool ErrorRateExceeded;
    }
}
