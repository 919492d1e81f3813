using System.Globalization;
using System.Text;
using Pronto.Core.Errors;
using Pronto.Core.Generation;
using Pronto.Core.Inference;
using Pronto.Core.Processing;
using Pronto.Core.Repository;
using Pronto.Core.Tensors;
using Pronto.Batch.Input;

namespace Pronto.Batch.Scoring;

/// <summary>
/// Maps input columns to the model's raw input (named fields, a text column, an image column of paths or
/// bytes), runs <see cref="InferenceService.InferDirect"/> on a whole batch, and turns the produced output into
/// <c>predicted_*</c> columns. A row that cannot be mapped is a <see cref="RowError"/>; when the engine
/// rejects a batch, its rows are retried one by one so only the bad rows are lost. A generative model's rows are
/// prompts: each gets its completion (<c>predicted_text</c>; greedy, or sampled from a per-row seed) from the model's decode loop.
/// </summary>
public sealed class RowScorer
{
    private enum Kind
    {
        Fields,
        Text,
        Image,
        Prompt,
    }

    private readonly InferenceService _service;
    private readonly string _model;
    private readonly Kind _kind;
    private readonly FieldsPreparer? _fields;
    private readonly string[] _sourceNames;
    private readonly int[] _sources;
    private readonly int[] _keep;
    private readonly IReadOnlyList<string>? _labels;
    private readonly InputSource _input;
    private readonly bool _classify;
    private readonly ColumnKind[] _kinds;
    private readonly SamplingParameters? _sampling;
    private readonly ulong _seed;
    private readonly int _window;

    public RowScorer(InferenceService service, string model, InputSource input, BatchOptions options)
    {
        _service = service;
        _model = model;
        _input = input;
        var columns = input.Columns;
        _kinds = [.. columns.Select(c => c.Kind)];
        using var lease = service.Repository.Acquire(model);
        var served = lease.Model;
        var preparer = served.Processing.Preparer;
        var producer = served.Processing.Producer;
        if (served.Generative is { } generative)
        {
            // Greedy, or seeded per row: a part's text is the same whatever the batch, the runs or the worker that resumes it.
            _sampling = new SamplingParameters { Temperature = options.Temperature, TopP = options.TopP, TopK = options.TopK, MaxTokens = options.MaxTokens };
            _sampling.Validate(generative.Engine.VocabSize);
            _seed = options.Seed;
            _window = Math.Max(1, Math.Min(generative.MaxRunning, generative.MaxWaiting) / Math.Max(1, options.ConcurrentRuns));
        }
        else if (preparer is null || producer is null)
        {
            ProntoErrors.Unsupported($"model '{model}' declares no pronto.prepare and pronto.produce; batch scores models that take fields, text or images, and generative models (docs/model-repository.md)");
        }

        _kind = _sampling is not null ? Kind.Prompt : preparer!.InputName switch
        {
            "fields" => Kind.Fields,
            "text" => Kind.Text,
            _ => Kind.Image,
        };
        string[] wanted;
        if (_kind == Kind.Prompt)
        {
            wanted = ["prompt"];
            _sourceNames = [options.Column ?? (options.Map.TryGetValue("prompt", out var c) ? c : "prompt")];
        }
        else if (_kind == Kind.Fields)
        {
            if (options.Column is not null)
            {
                ProntoErrors.InvalidArgument($"--column names the one text or image column; model '{model}' takes the fields {string.Join(", ", ((FieldsPreparer)preparer!).FieldNames)}: use --map to rename them");
            }

            _fields = (FieldsPreparer)preparer!;
            wanted = [.. _fields.FieldNames];
            _sourceNames = [.. wanted.Select(f => options.Map.TryGetValue(f, out var c) ? c : f)];
        }
        else
        {
            wanted = [preparer!.InputName];
            _sourceNames = [options.Column ?? (options.Map.TryGetValue(preparer.InputName, out var c) ? c : preparer.InputName)];
        }

        _sources = new int[_sourceNames.Length];
        for (var i = 0; i < _sources.Length; i++)
        {
            _sources[i] = IndexOf(columns, _sourceNames[i]);
            if (_sources[i] < 0)
            {
                var how = _kind == Kind.Fields ? "--map" : "--column";
                ProntoErrors.InvalidArgument($"model '{model}' needs {(_kind == Kind.Fields ? "field" : "input")} '{wanted[i]}' from a column '{_sourceNames[i]}', which the input does not have (its columns are {string.Join(", ", columns.Select(c => c.Name))}); name another with {how}");
            }
        }

        var keepNames = options.KeepColumns ?? [.. columns.Select(c => c.Name)];
        _keep = new int[keepNames.Count];
        for (var i = 0; i < _keep.Length; i++)
        {
            _keep[i] = IndexOf(columns, keepNames[i]);
            if (_keep[i] < 0)
            {
                ProntoErrors.InvalidArgument($"--keep-columns: the input has no column '{keepNames[i]}' (its columns are {string.Join(", ", columns.Select(c => c.Name))})");
            }
        }

        _classify = producer is not null && (producer.Labels is not null || served.Processing.GetLabels(producer.OutputName) is not null);
        _labels = producer is null ? null : served.Processing.GetLabels(producer.OutputName);
        var output = new List<Column>(_keep.Length + 3);
        foreach (var k in _keep)
        {
            output.Add(columns[k]);
        }

        if (_sampling is not null)
        {
            output.Add(new Column("predicted_text", ColumnKind.String));
        }
        else if (_classify)
        {
            output.Add(new Column("predicted_label", ColumnKind.String));
            output.Add(new Column("predicted_probability", ColumnKind.Float));
            output.Add(new Column("predicted_probabilities", ColumnKind.FloatList));
        }
        else
        {
            output.Add(new Column("predicted_embedding", ColumnKind.FloatList));
        }

        OutputColumns = output;
        MappedColumns = _sourceNames;
    }

    /// <summary>The kept input columns, then the <c>predicted_*</c> columns.</summary>
    public IReadOnlyList<Column> OutputColumns { get; }

    /// <summary>Whether the output has label and probability columns besides the scores (a classifier), or only an embedding.</summary>
    public bool Classifies => _classify;

    /// <summary>Whether the model is generative: each row's prompt becomes its <c>predicted_text</c>.</summary>
    public bool Generates => _sampling is not null;

    /// <summary>A generative model's rows per batch when the job names none: four of the scorer's windows (the text does not depend on it).</summary>
    public int GenerationBatchSize => _window * 4;

    /// <summary>The input columns the model reads, in the order of its fields (or the one text / image column).</summary>
    public IReadOnlyList<string> MappedColumns { get; }

    /// <summary>Per input column: whether the job reads it (mapped or kept).</summary>
    public bool[] NeededColumns()
    {
        var needed = new bool[_kinds.Length];
        foreach (var s in _sources)
        {
            needed[s] = true;
        }

        foreach (var k in _keep)
        {
            needed[k] = true;
        }

        return needed;
    }

    /// <summary>
    /// Scores one batch: the good rows' output comes back column-wise, the other rows' errors go to
    /// <paramref name="errors"/> in row order. A fields model's features are built column by column into
    /// <paramref name="buffer"/> (one per scorer thread, reused for every batch). A row that cannot be mapped (its
    /// reader's error, an empty field, text that is not a number, a missing image) costs only itself; when the engine
    /// rejects the batch, its rows are retried one by one so only the bad rows are lost.
    /// </summary>
    internal ScoredColumns Score(ColumnChunk chunk, List<RowError> errors, FeatureBuffer buffer)
    {
        var count = chunk.Count;
        var offset = chunk.Offset;
        string?[]? bad = null;
        for (var r = 0; r < count; r++)
        {
            if (chunk.ErrorOf(offset + r) is { } error)
            {
                (bad ??= new string?[count])[r] = error;
            }
        }

        var kept = new ColumnData?[_keep.Length];
        for (var k = 0; k < kept.Length; k++)
        {
            kept[k] = chunk.Columns[_keep[k]];
        }

        if (_kind == Kind.Prompt)
        {
            return Generate(chunk, kept, bad, errors);
        }

        var width = _kind == Kind.Fields ? _sources.Length : 1;
        var features = _kind == Kind.Fields ? buffer.Floats(count * width) : default;
        ReadOnlyMemory<byte>[]? items = null;
        if (_kind == Kind.Fields)
        {
            for (var i = 0; i < width; i++)
            {
                MapField(chunk.Columns[_sources[i]]!, i, offset, count, features, ref bad);
            }
        }
        else
        {
            items = new ReadOnlyMemory<byte>[count];
            for (var r = 0; r < count; r++)
            {
                if (bad?[r] is null && MapItem(chunk.Columns[_sources[0]]!, offset + r, chunk.FirstRow + r, out items[r]) is { } error)
                {
                    (bad ??= new string?[count])[r] = error;
                }
            }
        }

        int[]? good = null;
        var n = count;
        if (bad is not null)
        {
            // Drop the bad rows and close up the good rows' features.
            good = new int[count];
            n = 0;
            for (var r = 0; r < count; r++)
            {
                if (bad[r] is { } message)
                {
                    errors.Add(new RowError(chunk.FirstRow + r, FileName(chunk.FirstRow + r), message));
                    continue;
                }

                if (items is null)
                {
                    features.Slice(r * width, width).CopyTo(features.Slice(n * width, width));
                }
                else
                {
                    items[n] = items[r];
                }

                good[n++] = offset + r;
            }

            Array.Resize(ref good, n);
        }

        if (n == 0)
        {
            return ScoredColumns.Empty(chunk, kept);
        }

        try
        {
            return Produce(chunk, kept, good, n, Infer(Input(buffer, items, 0, n)));
        }
        catch (Exception e) when (e is ProntoException or InvalidOperationException or ArgumentException)
        {
            if (n == 1)
            {
                var number = chunk.FirstRow + ((good?[0] ?? offset) - offset);
                errors.Add(new RowError(number, FileName(number), e.Message));
                return ScoredColumns.Empty(chunk, kept);
            }
        }

        // The batch failed: score each row alone, so one bad row costs only itself.
        var failed = new List<RowError>();
        var rows = new List<int>(n);
        var results = new List<float[]>(n);
        for (var i = 0; i < n; i++)
        {
            var row = good?[i] ?? offset + i;
            try
            {
                results.Add(Infer(Input(buffer, items, i, 1)).Span<float>().ToArray());
                rows.Add(row);
            }
            catch (Exception e) when (e is ProntoException or InvalidOperationException or ArgumentException)
            {
                var number = chunk.FirstRow + (row - offset);
                failed.Add(new RowError(number, FileName(number), e.Message));
            }
        }

        errors.AddRange(failed);
        errors.Sort((a, b) => a.Row.CompareTo(b.Row));
        if (rows.Count == 0)
        {
            return ScoredColumns.Empty(chunk, kept);
        }

        var per = results[0].Length;
        var flat = new float[rows.Count * per];
        for (var i = 0; i < results.Count; i++)
        {
            results[i].CopyTo(flat, i * per);
        }

        return Produce(chunk, kept, [.. rows], rows.Count, Tensor.Create(flat, rows.Count, per));
    }

    /// <summary>
    /// Each row's prompt completed by the model's decode loop, at most the scorer's window of rows in it at once, so
    /// they share its steps (continuous batching). A prompt that is empty, longer than the context or fails in a step
    /// costs only its row.
    /// </summary>
    private ScoredColumns Generate(ColumnChunk chunk, ColumnData?[] kept, string?[]? bad, List<RowError> errors)
    {
        using var lease = _service.Repository.Acquire(_model);
        var model = lease.Model.Generative!;
        var column = chunk.Columns[_sources[0]]!;
        var count = chunk.Count;
        var completions = new Task<string>?[count];
        using var gate = new SemaphoreSlim(_window);
        for (var r = 0; r < count; r++)
        {
            if (bad?[r] is not null)
            {
                continue;
            }

            var text = column.Text(chunk.Offset + r);

            if (string.IsNullOrEmpty(text))
            {
                (bad ??= new string?[count])[r] = $"column '{_sourceNames[0]}' is empty";
                continue;
            }

            var prompt = model.Tokenizer.EncodePrompt(text);
            var parameters = _sampling!.Temperature > 0 ? _sampling with { Seed = unchecked(_seed + (ulong)(chunk.FirstRow + r)) } : _sampling;
            try
            {
                model.Engine.Validate(prompt, parameters);
                completions[r] = CompleteAsync(model, prompt, parameters, gate);
            }
            catch (ProntoException e)
            {
                (bad ??= new string?[count])[r] = e.Message;
            }
        }

        var texts = new string[count];
        var good = new List<int>(count);
        for (var r = 0; r < count; r++)
        {
            if (completions[r] is { } completion)
            {
                try
                {
                    texts[good.Count] = completion.GetAwaiter().GetResult();
                    good.Add(chunk.Offset + r);
                    continue;
                }
                catch (Exception e) when (e is ProntoException or InvalidOperationException or ArgumentException)
                {
                    (bad ??= new string?[count])[r] = e.Message;
                }
            }

            if (bad?[r] is { } message)
            {
                errors.Add(new RowError(chunk.FirstRow + r, FileName(chunk.FirstRow + r), message));
            }
        }

        return new ScoredColumns(chunk, kept, [.. good], good.Count, texts[..good.Count], null, null, 0);
    }

    private static async Task<string> CompleteAsync(GenerativeModel model, IReadOnlyList<int> prompt, SamplingParameters parameters, SemaphoreSlim gate)
    {
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            return await model.CompleteAsync(prompt, parameters, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Rows [from, from + count) of the good rows as the model's input: the features in the buffer (read in place), or the items.</summary>
    private NamedTensor Input(FeatureBuffer buffer, ReadOnlyMemory<byte>[]? items, int from, int count)
    {
        if (items is not null)
        {
            return new NamedTensor(_kind == Kind.Text ? "text" : "image", Tensor.FromStrings(items[from..(from + count)], count));
        }

        var rowBytes = _sources.Length * sizeof(float);
        return _fields!.FromRows(buffer.Bytes((from + count) * _sources.Length)[(from * rowBytes)..], count);
    }

    private Tensor Infer(NamedTensor input) =>
        _service.InferDirect(new InferenceRequest { ModelName = _model, Inputs = [input] }).Outputs[0].Tensor;

    private string FileName(long row) => Path.GetFileName(_input.Files[_input.FileOf(row)]);

    /// <param name="rows">The good rows' indexes in the chunk's columns; null when they are all the chunk's rows.</param>
    private ScoredColumns Produce(ColumnChunk chunk, ColumnData?[] kept, int[]? rows, int count, Tensor result)
    {
        var values = result.Span<float>();
        var per = values.Length / count;
        var scores = values.ToArray();
        if (!_classify)
        {
            return new ScoredColumns(chunk, kept, rows, count, null, null, scores, per);
        }

        var labels = new string[count];
        var probability = new float[count];
        for (var i = 0; i < count; i++)
        {
            var row = values.Slice(i * per, per);
            var best = 0;
            for (var c = 1; c < row.Length; c++)
            {
                if (row[c] > row[best])
                {
                    best = c;
                }
            }

            labels[i] = _labels is not null && best < _labels.Count ? _labels[best] : best.ToString(CultureInfo.InvariantCulture);
            probability[i] = row[best];
        }

        return new ScoredColumns(chunk, kept, rows, count, labels, probability, scores, per);
    }

    /// <summary>
    /// Field <paramref name="field"/> of every row from its column: numbers and booleans as they are (every int64 is
    /// a finite FP32, rounded), text parsed; a row whose value is null, empty, not a number or not a finite FP32 gets
    /// that message unless an earlier field (or its reader) gave it one.
    /// </summary>
    private void MapField(ColumnData column, int field, int offset, int count, Span<float> features, ref string?[]? bad)
    {
        var width = _sources.Length;
        var name = _sourceNames[field];
        for (var r = 0; r < count; r++)
        {
            var at = offset + r;
            var single = 0f;
            string? error = null;
            switch (column.Values)
            {
                case var _ when column.IsNull(at) || column.Values is string?[] { } empty && empty[at]!.Length == 0:
                    error = $"column '{name}' is empty";
                    break;
                case double[] doubles:
                    single = (float)doubles[at];
                    break;
                case long[] longs:
                    single = longs[at];
                    break;
                case bool[] bools:
                    single = bools[at] ? 1 : 0;
                    break;
                case string?[] strings when double.TryParse(strings[at], NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed):
                    single = (float)parsed;
                    break;
                default:
                    error = $"column '{name}': '{column.Text(at)}' is not a number";
                    break;
            }

            if (error is null && !float.IsFinite(single))
            {
                error = $"column '{name}': '{column.Text(at)}' is not a finite FP32 number";
            }

            features[(r * width) + field] = single;
            if (error is not null && bad?[r] is null)
            {
                (bad ??= new string?[count])[r] = error;
            }
        }
    }

    /// <summary>One row's text (UTF-8) or image (the bytes of a binary column, or the file a path names, relative to the input's folder).</summary>
    private string? MapItem(ColumnData column, int at, long number, out ReadOnlyMemory<byte> item)
    {
        item = default;
        var text = column.Values is byte[]?[] && _kind == Kind.Image ? null : column.Text(at);
        if (column.IsNull(at) || (_kind == Kind.Image && text is { Length: 0 }))
        {
            return $"column '{_sourceNames[0]}' is empty";
        }

        if (_kind == Kind.Text)
        {
            item = Encoding.UTF8.GetBytes(text!);
            return null;
        }

        if (text is null)
        {
            item = ((byte[]?[])column.Values)[at];
            return null;
        }

        var full = Path.IsPathRooted(text) ? text : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(_input.Files[_input.FileOf(number)]))!, text);
        if (!File.Exists(full))
        {
            return $"image file '{text}' does not exist";
        }

        try
        {
            item = File.ReadAllBytes(full);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"image file '{text}' cannot be read: {e.Message}";
        }
    }

    private static int IndexOf(IReadOnlyList<Column> columns, string name)
    {
        for (var i = 0; i < columns.Count; i++)
        {
            if (columns[i].Name == name)
            {
                return i;
            }
        }

        return -1;
    }
}
