using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Pronto.Batch.Input;

/// <summary>
/// JSON Lines: one JSON object per line. The first object's keys, in order, are the columns; numbers are Double,
/// booleans Bool, the rest String (arrays and objects their JSON text). A later line's value of a string column may be
/// of any kind (a number or boolean as its JSON text); a number or boolean column takes only its kind or null. A line
/// that is not a JSON object, or holds another kind in such a column, is a row error; blank lines are skipped.
/// </summary>
internal sealed class JsonlRowReader(string path, int bufferBytes) : IRowReader
{
    private StreamReader? _reader;
    private Column[] _columns = [];
    private string? _first;

    public IReadOnlyList<Column> Columns => _columns;

    public long Position => _reader?.BaseStream.Position ?? 0;

    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferBytes);
        _reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferBytes);
        while (await _reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            _first = line;
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.ValueKind == JsonValueKind.Object)
                {
                    _columns = [.. doc.RootElement.EnumerateObject().Select(p => new Column(p.Name, KindOf(p.Value.ValueKind)))];
                }
            }
            catch (JsonException)
            {
                // The first line is malformed: it becomes that row's error, and the columns come from nothing.
            }

            break;
        }
    }

    public async IAsyncEnumerable<ColumnGroup> ReadAsync(bool[] needed, Func<long, int, bool> wanted, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var builder = new GroupBuilder(_columns, needed, wanted);
        long start = 0;
        while ((_first ?? await _reader!.ReadLineAsync(cancellationToken)) is { } line)
        {
            _first = null;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            builder.Begin(start);
            if (Parse(line, builder) is { } error)
            {
                builder.Fail(error);
            }

            if (builder.Next() is { } group)
            {
                start += group.Rows;
                yield return group;
            }
        }

        if (builder.Take() is { } last)
        {
            yield return last;
        }
    }

    /// <summary>Puts one line's values in the builder's row; the row's error, or null.</summary>
    private string? Parse(string line, GroupBuilder builder)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return "is not a JSON object";
            }

            for (var c = 0; c < _columns.Length; c++)
            {
                if (builder.Column(c) is not { } column)
                {
                    continue;
                }

                var value = doc.RootElement.TryGetProperty(_columns[c].Name, out var v) ? v : default;
                var row = builder.Row;
                switch (column.Values, value.ValueKind)
                {
                    case (_, JsonValueKind.Null or JsonValueKind.Undefined):
                        if (column.Nulls is { } nulls)
                        {
                            nulls[row] = true;
                        }

                        break;
                    case (double[] doubles, JsonValueKind.Number):
                        if (!value.TryGetDouble(out doubles[row]))
                        {
                            return $"column '{_columns[c].Name}': {value.GetRawText()} is beyond a double's range";
                        }

                        break;
                    case (bool[] bools, JsonValueKind.True or JsonValueKind.False):
                        bools[row] = value.GetBoolean();
                        break;
                    case (string?[] strings, _):
                        strings[row] = value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText();
                        break;
                    default:
                        return $"column '{_columns[c].Name}' holds {Describe(value.ValueKind)} where the first line has {Describe(column.Kind == ColumnKind.Bool ? JsonValueKind.True : JsonValueKind.Number)}";
                }
            }

            return null;
        }
        catch (JsonException e)
        {
            return $"malformed JSON: {e.Message}";
        }
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.String => "a string",
        JsonValueKind.Array => "an array",
        _ => "an object",
    };

    private static ColumnKind KindOf(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Number => ColumnKind.Double,
        JsonValueKind.True or JsonValueKind.False => ColumnKind.Bool,
        _ => ColumnKind.String,
    };

    public ValueTask DisposeAsync()
    {
        _reader?.Dispose();
        return ValueTask.CompletedTask;
    }
}
