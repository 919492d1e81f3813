using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Pronto.Batch.Input;

/// <summary>
/// JSON Lines: one JSON object per line. The first object's keys, in order, are the columns; numbers are
/// Double, strings String, booleans Bool, arrays and objects their JSON text. A line that is not a JSON
/// object is a row error; blank lines are skipped.
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

    public async IAsyncEnumerable<(object?[]? Values, string? Error)> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (_first is { } first)
        {
            _first = null;
            yield return Parse(first);
        }

        while (await _reader!.ReadLineAsync(cancellationToken) is { } line)
        {
            if (!string.IsNullOrWhiteSpace(line))
            {
                yield return Parse(line);
            }
        }
    }

    private (object?[]? Values, string? Error) Parse(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return (null, "is not a JSON object");
            }

            var values = new object?[_columns.Length];
            for (var i = 0; i < _columns.Length; i++)
            {
                if (doc.RootElement.TryGetProperty(_columns[i].Name, out var value))
                {
                    values[i] = ValueOf(value);
                }
            }

            return (values, null);
        }
        catch (JsonException e)
        {
            return (null, $"malformed JSON: {e.Message}");
        }
    }

    private static ColumnKind KindOf(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Number => ColumnKind.Double,
        JsonValueKind.True or JsonValueKind.False => ColumnKind.Bool,
        _ => ColumnKind.String,
    };

    private static object? ValueOf(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.Number => value.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => value.GetString(),
        _ => value.GetRawText(),
    };

    public ValueTask DisposeAsync()
    {
        _reader?.Dispose();
        return ValueTask.CompletedTask;
    }
}
