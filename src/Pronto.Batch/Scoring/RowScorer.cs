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
/// bytes), runs <see cref="InferenceService.Infer"/> on a whole batch, and turns the produced output into
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

    public RowScorer(InferenceService service, string model, InputSource input, BatchOptions options)
    {
        _service = service;
        _model = model;
        _files = input.Files;
        var columns = input.Columns;
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

    /// <summary>The input columns the model reads, in the order of its fields (or the one text / image column).</summary>
    public IReadOnlyList<string> MappedColumns { get; }

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

        var response = _service.Infer(new InferenceRequest { ModelName = _model, Inputs = [input] });
        return response.Outputs[0].Tensor;
    }

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
