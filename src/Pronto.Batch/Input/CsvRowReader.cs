using System.Runtime.CompilerServices;
using System.Text;

namespace Pronto.Batch.Input;

/// <summary>
/// RFC 4180 CSV: a header row, comma separators, double-quoted fields (with "" for a quote, commas and
/// line breaks inside), CRLF or LF. Values stay strings; blank lines are skipped.
/// </summary>
internal sealed class CsvRowReader(string path, int bufferBytes) : IRowReader
{
    private StreamReader? _reader;
    private Column[] _columns = [];

    public IReadOnlyList<Column> Columns => _columns;

    public long Position => _reader?.BaseStream.Position ?? 0;

    public Task OpenAsync(CancellationToken cancellationToken)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferBytes);
        _reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferBytes);
        var header = ReadRecord(_reader, new StringBuilder());
        _columns = header is null ? [] : [.. header.Select(h => new Column(h, ColumnKind.String))];
        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<(object?[]? Values, string? Error)> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        var field = new StringBuilder();
        while (ReadRecord(_reader!, field) is { } record)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (record.Count == 1 && record[0].Length == 0)
            {
                continue;
            }

            if (record.Count != _columns.Length)
            {
                yield return (null, $"has {record.Count} fields, the header has {_columns.Length}");
                continue;
            }

            var values = new object?[record.Count];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = record[i];
            }

            yield return (values, null);
        }
    }

    /// <summary>The next record's fields, or null at the end of the file.</summary>
    private static List<string>? ReadRecord(StreamReader reader, StringBuilder field)
    {
        var c = reader.Read();
        if (c < 0)
        {
            return null;
        }

        var fields = new List<string>();
        field.Clear();
        var quoted = false;
        while (true)
        {
            if (quoted)
            {
                if (c < 0)
                {
                    break;
                }

                if (c == '"')
                {
                    if (reader.Peek() == '"')
                    {
                        reader.Read();
                        field.Append('"');
                    }
                    else
                    {
                        quoted = false;
                    }
                }
                else
                {
                    field.Append((char)c);
                }
            }
            else if (c < 0 || c == '\n')
            {
                break;
            }
            else if (c == '\r')
            {
                if (reader.Peek() == '\n')
                {
                    reader.Read();
                }

                break;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else if (c == '"' && field.Length == 0)
            {
                quoted = true;
            }
            else
            {
                field.Append((char)c);
            }

            c = reader.Read();
        }

        fields.Add(field.ToString());
        return fields;
    }

    public ValueTask DisposeAsync()
    {
        _reader?.Dispose();
        return ValueTask.CompletedTask;
    }
}
