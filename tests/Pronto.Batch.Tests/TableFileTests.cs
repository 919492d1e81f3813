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
        var reader = new CsvRowReader(path, 64);
        await reader.OpenAsync(CancellationToken.None);
        Assert.Equal(["id", "text", "x", "f", "ok"], reader.Columns.Select(c => c.Name));
        var read = new List<object?[]>();
        await foreach (var (values, error) in reader.ReadAsync(CancellationToken.None))
        {
            Assert.Null(error);
            read.Add(values!);
        }

        Assert.Equal([["0", "plain", "0.1", "1.5", "true"], ["1", "a, \"quoted\"\nline", "-2", "0.3", "false"], ["2", "", "", "7", ""]], read);
        Assert.Empty(Directory.GetFiles(_temp, ".*"));
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
