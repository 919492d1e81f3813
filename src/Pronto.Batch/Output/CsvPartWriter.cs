using System.Globalization;
using System.Text;
using Pronto.Batch.Scoring;

namespace Pronto.Batch.Output;

/// <summary>
/// RFC 4180 CSV, the dialect <see cref="Input.CsvRowReader"/> reads (through Sep): a header row, comma separators, a field quoted
/// (with "" for a quote) when it holds a comma, a quote or a line break, LF line ends. Numbers in their shortest
/// round-trip form, booleans as true / false, nulls empty, binary as base64. Lists have no CSV form.
/// </summary>
internal sealed class CsvPartWriter : IPartWriter
{
    private readonly StreamWriter _writer;

    public CsvPartWriter(Stream stream, IReadOnlyList<Column> columns)
    {
        if (columns.FirstOrDefault(c => c.Kind == ColumnKind.FloatList) is { } list)
        {
            throw new InvalidDataException($"column '{list.Name}' holds lists, which CSV cannot hold; write .parquet or .jsonl");
        }

        _writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
        for (var c = 0; c < columns.Count; c++)
        {
            WriteField(c, columns[c].Name);
        }

        _writer.Write('\n');
    }

    public ValueTask WriteAsync(ScoredColumns batch, CancellationToken cancellationToken)
    {
        for (var i = 0; i < batch.Count; i++)
        {
            var c = 0;
            for (; c < batch.Kept.Length; c++)
            {
                WriteField(c, batch.Kept[c]!.Text(batch.Row(i)) ?? "");
            }

            if (batch.Labels is { } labels)
            {
                WriteField(c++, labels[i]);
                WriteField(c, batch.Probability![i].ToString("R", CultureInfo.InvariantCulture));
            }

            _writer.Write('\n');
        }

        return ValueTask.CompletedTask;
    }

    private void WriteField(int column, string text)
    {
        if (column > 0)
        {
            _writer.Write(',');
        }

        if (text.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            _writer.Write(text);
            return;
        }

        _writer.Write('"');
        _writer.Write(text.Replace("\"", "\"\"", StringComparison.Ordinal));
        _writer.Write('"');
    }

    public async ValueTask CompleteAsync(CancellationToken cancellationToken) => await _writer.FlushAsync(cancellationToken);

    public async ValueTask DisposeAsync() => await _writer.DisposeAsync();
}
