using System.Runtime.CompilerServices;
using nietras.SeparatedValues;
using Pronto.Core.Errors;

namespace Pronto.Batch.Input;

/// <summary>
/// RFC 4180 CSV through Sep (nietras.Sep): a header row, comma separators, double-quoted fields (with "" for a quote,
/// commas and line breaks inside), CRLF or LF. Values stay strings; blank lines are skipped. A quote that is never
/// closed is an error naming the line it opens on (it would otherwise take the rest of the file as one field); a header
/// that names a column twice is an error too. Only the needed columns' fields become strings.
/// </summary>
internal sealed class CsvRowReader(string path, int bufferBytes) : IRowReader
{
    private FileStream? _stream;
    private SepReader? _reader;
    private Column[] _columns = [];
    private long _length;

    public IReadOnlyList<Column> Columns => _columns;

    /// <summary>The stream's position; Sep closes the stream at the end of the file, which is then all read.</summary>
    public long Position => _stream is null ? 0 : _stream.CanSeek ? _stream.Position : _length;

    public Task OpenAsync(CancellationToken cancellationToken)
    {
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferBytes);
        _length = _stream.Length;
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

    public async IAsyncEnumerable<ColumnGroup> ReadAsync(bool[] needed, Func<long, int, bool> wanted, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        var builder = new GroupBuilder(_columns, needed, wanted);
        long start = 0;
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

            builder.Begin(start);
            if (row.ColCount != _columns.Length)
            {
                builder.Fail($"has {row.ColCount} fields, the header has {_columns.Length}");
            }
            else
            {
                for (var c = 0; c < _columns.Length; c++)
                {
                    if (builder.Column(c) is { } column)
                    {
                        ((string?[])column.Values)[builder.Row] = row[c].ToString();
                    }
                }
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

    public ValueTask DisposeAsync()
    {
        _reader?.Dispose();
        _stream?.Dispose();
        return ValueTask.CompletedTask;
    }
}
