using Pronto.Batch.Input;
using Pronto.Core.Errors;

namespace Pronto.Batch.Tests;

/// <summary><see cref="TableFile"/>: whole tables in the batch job's formats; its CSV read back by the batch CSV reader.</summary>
public sealed class TableFileTests : IDisposable
{
    private static readonly Column[] Columns =
    [
        new("id", ColumnKind.Int64), new("text", ColumnKind.String), new("x", ColumnKind.Double), new("f", ColumnKind.Float), new("ok", ColumnKind.Bool),
    ];

    private readonly string _temp = Directory.CreateTempSubdirectory("pronto-tablefile-").FullName;

    [Fact]
    public async Task Csv_quotes_what_needs_quotes_and_the_csv_reader_reads_every_value_back()
    {
        var path = Path.Combine(_temp, "t.csv");
        object?[][] rows =
        [
            [0L, "plain", 0.1, 1.5f, true],
            [1L, "a, \"quoted\"\nline", -2.0, 0.3f, false],
            [2L, null, null, 7f, null],
        ];
        await TableFile.WriteAsync(path, Columns, rows);

        Assert.Equal("id,text,x,f,ok\n0,plain,0.1,1.5,true\n1,\"a, \"\"quoted\"\"\nline\",-2,0.3,false\n2,,,7,\n", await File.ReadAllTextAsync(path));
        var source = await InputSource.OpenAsync(path, 64, CancellationToken.None);
        Assert.Equal(["id", "text", "x", "f", "ok"], source.Columns.Select(c => c.Name));
        var read = new List<object?[]>();
        await foreach (var row in source.ReadRowsAsync(CancellationToken.None))
        {
            Assert.Null(row.Error);
            read.Add(row.Values);
        }

        Assert.Equal([["0", "plain", "0.1", "1.5", "true"], ["1", "a, \"quoted\"\nline", "-2", "0.3", "false"], ["2", "", "", "7", ""]], read);
        Assert.Empty(Directory.GetFiles(_temp, ".*"));
    }

    [Fact]
    public async Task Csv_rows_of_another_width_and_blank_lines_are_row_errors_and_crlf_reads_as_lf()
    {
        var path = Path.Combine(_temp, "t.csv");
        await File.WriteAllTextAsync(path, "a,b\r\n1,\"x,\"\"y\"\"\"\r\n\r\n3\n4,5,6\n7,\"two\nlines\"\n");
        var (columns, read) = await ReadCsvAsync(path);
        Assert.Equal(["a", "b"], columns);
        Assert.Equal(
        [
            ("1|x,\"y\"", null), (null, "has 1 fields, the header has 2"), (null, "has 3 fields, the header has 2"), ("7|two\nlines", null),
        ], read);
    }

    /// <summary>
    /// An unclosed quote names the line it opens on (not the rest of the file as one field); a header naming a
    /// column twice is refused.
    /// </summary>
    [Theory]
    [InlineData("open.csv", "a,b\n1,2\n3,\"open\n4,5\n6,7\n", "'open.csv' line 3: a quoted field opens on this line and is never closed before the end of the file", true)]
    [InlineData("twice.csv", "a,b,a\n1,2,3\n", "'twice.csv': the header is not usable: Col name 'a' found 2 times", false)]
    public async Task A_malformed_csv_is_an_invalid_argument_naming_what_is_wrong(string name, string text, string message, bool whole)
    {
        var path = Path.Combine(_temp, name);
        await File.WriteAllTextAsync(path, text);
        var error = await Assert.ThrowsAsync<ProntoException>(() => ReadCsvAsync(path));
        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        if (whole)
        {
            Assert.Equal(message, error.Message);
        }
        else
        {
            // The rest is Sep's own wording of the header.
            Assert.StartsWith(message, error.Message);
        }
    }

    /// <summary>The header, then each row's fields joined by '|' or its error.</summary>
    private static async Task<(List<string> Columns, List<(string? Values, string? Error)> Rows)> ReadCsvAsync(string path)
    {
        var source = await InputSource.OpenAsync(path, 64, CancellationToken.None);
        var rows = new List<(string?, string?)>();
        await foreach (var row in source.ReadRowsAsync(CancellationToken.None))
        {
            rows.Add((row.Error is null ? string.Join("|", row.Values) : null, row.Error));
        }

        return ([.. source.Columns.Select(c => c.Name)], rows);
    }

    [Fact]
    public async Task An_unknown_extension_is_an_invalid_argument_and_writes_nothing()
    {
        var path = Path.Combine(_temp, "t.txt");
        var error = await Assert.ThrowsAsync<ProntoException>(() => TableFile.WriteAsync(path, Columns, []));
        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Equal($"'{path}': the file must end in .parquet, .jsonl, .csv", error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(_temp));
    }

    [Fact]
    public async Task A_failed_write_leaves_no_file_behind()
    {
        var path = Path.Combine(_temp, "t.jsonl");
        await Assert.ThrowsAsync<InvalidOperationException>(() => TableFile.WriteAsync(path, Columns, Failing()));
        Assert.Empty(Directory.GetFileSystemEntries(_temp));
    }

    private static IEnumerable<object?[]> Failing()
    {
        yield return [0L, "a", 1.0, 1f, true];
        throw new InvalidOperationException("the source failed");
    }

    public void Dispose() => Directory.Delete(_temp, recursive: true);
}
