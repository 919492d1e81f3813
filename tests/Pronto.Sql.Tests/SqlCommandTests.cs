using DuckDB.NET.Data;
using Pronto.Cli;
using Pronto.Testing;

namespace Pronto.Sql.Tests;

/// <summary><c>pronto sql</c> in-process, on the bundled repository.</summary>
[Collection(BundledCollection.Name)]
public sealed class SqlCommandTests : IDisposable
{
    private const string Scored = """
        SELECT id, pronto_predict('fraud', amount, 40.0, 3, 2, 800.0, 6) AS p_fraud, pronto_label('fraud', amount, 40.0, 3, 2, 800.0, 6) AS label
        FROM (VALUES (1, 12.5), (2, 2500.0), (3, 80.0)) v(id, amount)
        """;

    private readonly string _folder = Directory.CreateTempSubdirectory("pronto-sql-cli-").FullName;

    // The fixture is not used directly: it prepares the bundled repository once before the CLI opens it.
    public SqlCommandTests(BundledRepositoryFixture bundled) => _ = bundled;

    [Fact]
    public async Task PrintsATableOfTheResult()
    {
        var (code, output, error) = await RunAsync("sql", Scored + " ORDER BY id");

        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal("", error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Contains(lines, l => l.Contains("│ id │ p_fraud", StringComparison.Ordinal) && l.Contains("│ label │", StringComparison.Ordinal));
        Assert.Equal(3, lines.Count(l => l.Contains("│ legit │", StringComparison.Ordinal) || l.Contains("│ fraud │", StringComparison.Ordinal)));
        Assert.Equal("(3 rows)", lines[^1]);
    }

    [Theory]
    [InlineData("parquet")]
    [InlineData("csv")]
    [InlineData("jsonl")]
    public async Task WritesTheOutputFormatsDuckDbReadsBack(string extension)
    {
        var path = Path.Combine(_folder, "scored." + extension);

        var (code, _, error) = await RunAsync("sql", Scored, "--output", path);

        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal($"wrote 3 rows to {path}", error.Trim());
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        var reader = extension == "jsonl" ? "read_json" : extension == "csv" ? "read_csv" : "read_parquet";
        command.CommandText = $"SELECT id, p_fraud, label FROM {reader}('{path}') ORDER BY id";
        using var rows = command.ExecuteReader();
        var read = new List<(long Id, double P, string Label)>();
        while (rows.Read())
        {
            read.Add((Convert.ToInt64(rows.GetValue(0), System.Globalization.CultureInfo.InvariantCulture), Convert.ToDouble(rows.GetValue(1), System.Globalization.CultureInfo.InvariantCulture), rows.GetString(2)));
        }

        Assert.Equal([1L, 2L, 3L], read.Select(r => r.Id));
        Assert.All(read, r => Assert.InRange(r.P, 0, 1));
        Assert.All(read, r => Assert.Equal(r.P >= 0.5 ? "fraud" : "legit", r.Label));
    }

    [Fact]
    public async Task ADatabaseFileKeepsTablesBetweenRunsAndAFileHoldsTheQuery()
    {
        var database = Path.Combine(_folder, "work.duckdb");
        var file = Path.Combine(_folder, "count.sql");
        await File.WriteAllTextAsync(file, "SELECT count(*) AS n, count(p) AS scored FROM scored;");

        var create = await RunAsync("sql", "--database", database, $"CREATE TABLE scored AS SELECT id, p_fraud AS p FROM ({Scored})");
        var (code, output, _) = await RunAsync("sql", "--database", database, "--file", file);

        Assert.Equal(ExitCodes.Success, create.ExitCode);
        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("│ 3 │ 3      │", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ExitCodes.InvalidArgument, "error: Parser Error: syntax error at or near \"SELEC\"", "sql", "SELEC 1")]
    [InlineData(ExitCodes.InvalidArgument, "error: Catalog Error: Table with name missing does not exist!", "sql", "SELECT * FROM missing")]
    [InlineData(ExitCodes.NotFound, "error: Invalid Input Error: pronto_predict('nope'): unknown model 'nope'", "sql", "SELECT pronto_predict('nope', 1)")]
    [InlineData(ExitCodes.InvalidArgument, "error: Invalid Input Error: pronto_predict('fraud'): model 'fraud' takes 6 arguments", "sql", "SELECT pronto_predict('fraud', 1)")]
    [InlineData(ExitCodes.InvalidArgument, "error: --output 'x.xlsx': unknown format '.xlsx'; use .parquet, .csv or .jsonl", "sql", "SELECT 1", "--output", "x.xlsx")]
    [InlineData(ExitCodes.InvalidArgument, "error: give the SQL as an argument or with --file, not both", "sql", "SELECT 1", "--file", "q.sql")]
    public async Task FailuresAreErrorsWithExitCodes(int expected, string message, params string[] args)
    {
        var (code, _, error) = await RunAsync(args);

        Assert.Equal(expected, code);
        Assert.StartsWith(message, error, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await ProntoCli.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
