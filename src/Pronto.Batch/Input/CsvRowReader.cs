using System.Runtime.CompilerServices;
using nietras.SeparatedValues;
using Pronto.Core.Errors;

namespace Pronto.Batch.Input;

/// <summary>
/// RFC 4180 CSV through Sep (nietras.Sep): a header row, comma separators, double-quoted fields (with "" for a quote,
/// commas and line breaks inside), CRLF or LF. Values stay strings; blank lines are skipped. A quote that is never
/// closed is an error naming the line it opens on (it would otherwise take the rest of the file as one field); a header
/// that names a column twice is an error too.
/// </summary>
internal sealed class CsvRowReader(string path, int bufferBytes) : IRowReader
{
    private FileStream? _stream;
    private SepReader? _reader;
    private Column[] _columns = [];

    public IReadOnlyList<Column> Columns => _columns;

    public long Position => _stream?.Position ?? 0;

    public Task OpenAsync(CancellationToken cancellationToken)
    {
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferBytes);
        try
        {
            // The separator is fixed (Sep would otherwise guess it from the header) and the column count is checked
            // here, row by row, so a short row costs only itself.
            _reader = Sep.Reader(o => o with { Sep = new Sep(','), Unescape = true, DisableColCountCheck = true, InitialBufferLength = Math.Max(1 << 12, bufferBytes / sizeof(char)) })
                .From(_stream);
        }
        catch (ArgumentException e)
        {
            ProntoErrors.InvalidArgument($"'{Path.GetFileName(path)}': the header is not usable: {e.Message}");
        }

        _columns = [.. _reader!.Header.ColNames.Select(h => new Column(h, ColumnKind.String))];
        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<(object?[]? Values, string? Error)> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        foreach (var row in _reader!)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (row.Span.Count('"') % 2 != 0)
            {
                // Sep reads an open quote to the end of the file: an odd count of quotes in a row means it never closed.
                ProntoErrors.InvalidArgument($"'{Path.GetFileName(path)}' line {row.LineNumberFrom}: a quoted field opens on this line and is never closed before the end of the file");
            }

            if (row.ColCount == 1 && row[0].Span.Length == 0)
            {
                continue;
            }

            if (row.ColCount != _columns.Length)
            {
                yield return (null, $"has {row.ColCount} fields, the header has {_columns.Length}");
                continue;
            }

            var values = new object?[row.ColCount];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = row[i].ToString();
            }

            yield return (values, null);
        }
    }

    public ValueTask DisposeAsync()
    {
        _reader?.Dispose();
        _stream?.Dispose();
        return ValueTask.CompletedTask;
    }
}
