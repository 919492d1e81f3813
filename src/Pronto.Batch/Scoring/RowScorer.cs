using System.Globalization;
using System.Text;
using Pronto.Core.Errors;
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
/// rejects a batch, its rows are retried one by one so only the bad rows are lost.
/// </summary>
public sealed class RowScorer
{
    private enum Kind
    {
        Fields,
        Text,
        Image,
    }

    private readonly InferenceService _service;
    private readonly string _model;
    private readonly Kind _kind;
    private readonly FieldsPreparer? _fields;
    private readonly string[] _sourceNames;
    private readonly int[] _sources;
    private readonly int[] _keep;
    private readonly IReadOnlyList<string>? _labels;
    private readonly IReadOnlyList<string> _files;
    private readonly bool _classify;
    private readonly ColumnKind[] _kinds;

    public RowScorer(InferenceService service, string model, InputSource input, BatchOptions options)
    {
        _service = service;
        _model = model;
        _files = input.Files;
        var columns = input.Columns;
        _kinds = [.. columns.Select(c => c.Kind)];
        using var lease = service.Repository.Acquire(model);
        var served = lease.Model;
        var preparer = served.Processing.Preparer;
        var producer = served.Processing.Producer;
        if (preparer is null || producer is null)
        {
            ProntoErrors.Unsupported($"model '{model}' declares no pronto.prepare and pronto.produce; batch scores models that take fields, text or images (docs/model-repository.md)");
        }

        _kind = preparer.InputName switch
        {
            "fields" => Kind.Fields,
            "text" => Kind.Text,
            _ => Kind.Image,
        };
        string[] wanted;
        if (_kind == Kind.Fields)
        {
            if (options.Column is not null)
            {
                ProntoErrors.InvalidArgument($"--column names the one text or image column; model '{model}' takes the fields {string.Join(", ", ((FieldsPreparer)preparer).FieldNames)}: use --map to rename them");
            }

            _fields = (FieldsPreparer)preparer;
            wanted = [.. _fields.FieldNames];
            _sourceNames = [.. wanted.Select(f => options.Map.TryGetValue(f, out var c) ? c : f)];
        }
        else
        {
            wanted = [preparer.InputName];
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

        _classify = producer.Labels is not null || served.Processing.GetLabels(producer.OutputName) is not null;
        _labels = served.Processing.GetLabels(producer.OutputName);
        var output = new List<Column>(_keep.Length + 3);
        foreach (var k in _keep)
        {
            output.Add(columns[k]);
        }

        if (_classify)
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

    /// <summary>The input columns the model reads, in the order of its fields (or the one text / image column).</summary>
    public IReadOnlyList<string> MappedColumns { get; }

    /// <summary>
    /// Whether <see cref="ScoreColumns"/> can score this job: a fields model whose mapped columns are all
    /// numeric (Int64, Double, Bool); string columns need parsing and take the row path.
    /// </summary>
    public bool CanScoreColumns => _kind == Kind.Fields && _sources.All(s => _kinds[s] is ColumnKind.Int64 or ColumnKind.Double or ColumnKind.Bool);

    /// <summary>Per input column: whether the columnar path reads it (mapped or kept).</summary>
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
    /// The columnar fast path of <see cref="Score"/>: the same rows, errors (same messages) and values, built
    /// column by column from typed arrays into <paramref name="buffer"/> (one per scorer thread, reused for every
    /// batch); the good rows' output comes back column-wise.
    /// </summary>
    internal ScoredColumns ScoreColumns(ColumnChunk chunk, List<RowError> errors, FeatureBuffer buffer)
    {
        var width = _sources.Length;
        var count = chunk.Count;
        var offset = chunk.Offset;
        var features = buffer.Floats(count * width);
        bool[]? bad = null;
        for (var i = 0; i < width; i++)
        {
            var column = chunk.Columns[_sources[i]]!;
            switch (column.Kind)
            {
                case ColumnKind.Double:
                    {
                        var values = ((double[])column.Values).AsSpan(offset, count);
                        for (var r = 0; r < values.Length; r++)
                        {
                            var single = (float)values[r];
                            features[(r * width) + i] = single;
                            if (!float.IsFinite(single))
                            {
                                bad ??= new bool[count];
                                bad[r] = true;
                            }
                        }

                        break;
                    }

                case ColumnKind.Int64:
                    {
                        // Every int64 is a finite FP32 (rounded), as in MapFields.
                        var values = ((long[])column.Values).AsSpan(offset, count);
                        for (var r = 0; r < values.Length; r++)
                        {
                            features[(r * width) + i] = values[r];
                        }

                        break;
                    }

                default:
                    {
                        var values = ((bool[])column.Values).AsSpan(offset, count);
                        for (var r = 0; r < values.Length; r++)
                        {
                            features[(r * width) + i] = values[r] ? 1 : 0;
                        }

                        break;
                    }
            }

            if (column.Nulls is { } nulls && nulls.AsSpan(offset, count).Contains(true))
            {
                bad ??= new bool[count];
                for (var r = 0; r < count; r++)
                {
                    bad[r] |= nulls[offset + r];
                }
            }
        }

        var file = Path.GetFileName(_files[0]);
        int[]? good = null;
        var n = count;
        if (bad is not null)
        {
            // Drop the bad rows (each with the message MapFields gives it) and close up the good rows' features.
            good = new int[count];
            n = 0;
            for (var r = 0; r < count; r++)
            {
                if (bad[r])
                {
                    errors.Add(new RowError(chunk.FirstRow + r, file, MapColumns(chunk.Columns, offset + r)!));
                    continue;
                }

                features.Slice(r * width, width).CopyTo(features.Slice(n * width, width));
                good[n++] = offset + r;
            }

            Array.Resize(ref good, n);
        }

        var kept = new ColumnData?[_keep.Length];
        for (var k = 0; k < kept.Length; k++)
        {
            kept[k] = chunk.Columns[_keep[k]];
        }

        if (n == 0)
        {
            return ScoredColumns.Empty(chunk, kept);
        }

        try
        {
            var input = _fields!.FromRows(buffer.Bytes(n * width), n);
            return Produce(chunk, kept, good, n, Infer(input));
        }
        catch (Exception e) when (e is ProntoException or InvalidOperationException or ArgumentException)
        {
            if (n == 1)
            {
                errors.Add(new RowError(chunk.FirstRow + ((good?[0] ?? offset) - offset), file, e.Message));
                return ScoredColumns.Empty(chunk, kept);
            }
        }

        // The batch failed: score each row alone, so one bad row costs only itself (as Score does).
        var all = features[..(n * width)].ToArray();
        var failed = new List<RowError>();
        var rows = new List<int>(n);
        var results = new List<float[]>(n);
        for (var i = 0; i < n; i++)
        {
            var row = good?[i] ?? offset + i;
            try
            {
                results.Add(Run(all, null, i, 1).Span<float>().ToArray());
                rows.Add(row);
            }
            catch (Exception e) when (e is ProntoException or InvalidOperationException or ArgumentException)
            {
                failed.Add(new RowError(chunk.FirstRow + (row - offset), file, e.Message));
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

    /// <summary><see cref="MapFields"/>'s message for one row of typed columns (the first bad field), or null when the row is good.</summary>
    private string? MapColumns(ColumnData?[] columns, int at)
    {
        for (var i = 0; i < _sources.Length; i++)
        {
            var column = columns[_sources[i]]!;
            if (column.IsNull(at))
            {
                return $"column '{_sourceNames[i]}' is empty";
            }

            if (column.Kind == ColumnKind.Double && !float.IsFinite((float)((double[])column.Values)[at]))
            {
                return $"column '{_sourceNames[i]}': '{ColumnValues.Text(((double[])column.Values)[at])}' is not a finite FP32 number";
            }
        }

        return null;
    }

    /// <summary>Scores <paramref name="rows"/>: the output rows of the good ones in input order, and the errors.</summary>
    public void Score(IReadOnlyList<InputRow> rows, List<object?[]> output, List<RowError> errors)
    {
        var good = new List<InputRow>(rows.Count);
        var width = _kind == Kind.Fields ? _sources.Length : 1;
        var features = _kind == Kind.Fields ? new float[rows.Count * width] : null;
        var items = _kind == Kind.Fields ? null : new List<ReadOnlyMemory<byte>>(rows.Count);
        foreach (var row in rows)
        {
            var error = row.Error ?? (_kind == Kind.Fields
                ? MapFields(row, features.AsSpan(good.Count * width, width))
                : MapItem(row, items!));
            if (error is not null)
            {
                errors.Add(new RowError(row.Number, Path.GetFileName(_files[row.File]), error));
                continue;
            }

            good.Add(row);
        }

        if (good.Count == 0)
        {
            return;
        }

        var start = output.Count;
        try
        {
            Emit(good, 0, good.Count, Run(features, items, 0, good.Count), output);
            return;
        }
        catch (Exception e) when (e is ProntoException or InvalidOperationException or ArgumentException)
        {
            output.RemoveRange(start, output.Count - start);
            if (good.Count == 1)
            {
                errors.Add(new RowError(good[0].Number, Path.GetFileName(_files[good[0].File]), e.Message));
                return;
            }
        }

        // The batch failed: score each row alone, so one bad row costs only itself.
        var failed = new List<RowError>();
        for (var i = 0; i < good.Count; i++)
        {
            try
            {
                Emit(good, i, 1, Run(features, items, i, 1), output);
            }
            catch (Exception e) when (e is ProntoException or InvalidOperationException or ArgumentException)
            {
                failed.Add(new RowError(good[i].Number, Path.GetFileName(_files[good[i].File]), e.Message));
            }
        }

        errors.AddRange(failed);
        errors.Sort((a, b) => a.Row.CompareTo(b.Row));
    }

    private Tensor Run(float[]? features, List<ReadOnlyMemory<byte>>? items, int offset, int count)
    {
        NamedTensor input;
        if (features is not null)
        {
            var width = _sources.Length;
            var slice = offset == 0 && count * width == features.Length ? features : features.AsSpan(offset * width, count * width).ToArray();
            input = _fields!.FromRows(slice, count);
        }
        else
        {
            var slice = items!.GetRange(offset, count).ToArray();
            input = new NamedTensor(_kind == Kind.Text ? "text" : "image", Tensor.FromStrings(slice, count));
        }

        return Infer(input);
    }

    private Tensor Infer(NamedTensor input) =>
        _service.InferDirect(new InferenceRequest { ModelName = _model, Inputs = [input] }).Outputs[0].Tensor;

    private void Emit(List<InputRow> good, int offset, int count, Tensor result, List<object?[]> output)
    {
        var values = result.Span<float>();
        var per = values.Length / count;
        for (var i = 0; i < count; i++)
        {
            var row = good[offset + i];
            var scores = values.Slice(i * per, per).ToArray();
            var outRow = new object?[_keep.Length + (_classify ? 3 : 1)];
            for (var k = 0; k < _keep.Length; k++)
            {
                outRow[k] = row.Values[_keep[k]];
            }

            if (_classify)
            {
                var best = 0;
                for (var c = 1; c < scores.Length; c++)
                {
                    if (scores[c] > scores[best])
                    {
                        best = c;
                    }
                }

                outRow[_keep.Length] = _labels is not null && best < _labels.Count ? _labels[best] : best.ToString(CultureInfo.InvariantCulture);
                outRow[_keep.Length + 1] = scores[best];
                outRow[_keep.Length + 2] = scores;
            }
            else
            {
                outRow[_keep.Length] = scores;
            }

            output.Add(outRow);
        }
    }

    private string? MapFields(InputRow row, Span<float> destination)
    {
        for (var i = 0; i < _sources.Length; i++)
        {
            var value = row.Values[_sources[i]];
            double number;
            switch (value)
            {
                case null:
                case string { Length: 0 }:
                    return $"column '{_sourceNames[i]}' is empty";
                case double d:
                    number = d;
                    break;
                case long l:
                    number = l;
                    break;
                case bool b:
                    number = b ? 1 : 0;
                    break;
                case string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed):
                    number = parsed;
                    break;
                default:
                    return $"column '{_sourceNames[i]}': '{ColumnValues.Text(value)}' is not a number";
            }

            var single = (float)number;
            if (!float.IsFinite(single))
            {
                return $"column '{_sourceNames[i]}': '{ColumnValues.Text(value)}' is not a finite FP32 number";
            }

            destination[i] = single;
        }

        return null;
    }

    private string? MapItem(InputRow row, List<ReadOnlyMemory<byte>> items)
    {
        var value = row.Values[_sources[0]];
        if (value is null)
        {
            return $"column '{_sourceNames[0]}' is empty";
        }

        if (_kind == Kind.Text)
        {
            items.Add(Encoding.UTF8.GetBytes(ColumnValues.Text(value)));
            return null;
        }

        if (value is byte[] bytes)
        {
            items.Add(bytes);
            return null;
        }

        var path = ColumnValues.Text(value);
        if (path.Length == 0)
        {
            return $"column '{_sourceNames[0]}' is empty";
        }

        var full = Path.IsPathRooted(path) ? path : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(_files[row.File]))!, path);
        if (!File.Exists(full))
        {
            return $"image file '{path}' does not exist";
        }

        try
        {
            items.Add(File.ReadAllBytes(full));
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"image file '{path}' cannot be read: {e.Message}";
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
