using Pronto.Testing;

namespace Pronto.Cli.Tests;

/// <summary>
/// <c>pronto_train</c> in <c>pronto sql</c>: a model trained from a query's rows, returned as a row, and used by
/// <c>pronto_label</c> in the same session. Tables: scikit-learn's iris (Debian's python3-sklearn) and
/// <see cref="LabeledTexts"/> (generated tickets) for fine-tuning the bundled minilm.
/// </summary>
[Collection(BundledCollection.Name)]
public sealed class SqlTrainTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("pronto-sql-train-").FullName;
    private readonly string _repository;

    public SqlTrainTests(BundledRepositoryFixture fixture)
    {
        _repository = Path.Combine(_temp, "repository");
        Directory.CreateDirectory(_repository);
        Directory.CreateSymbolicLink(Path.Combine(_repository, "minilm"), Path.Combine(fixture.Root, "minilm"));
    }

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private Task<(int Code, string Output, string Error)> Sql(string sql) =>
        CliRunner.RunAsync(["sql", sql, "--model-repository", _repository]);

    [Fact]
    public async Task A_table_model_trained_in_a_query_labels_rows_in_the_same_session()
    {
        var iris = SklearnTables.Iris(_temp);
        var (code, output, error) = await Sql(
            $"CREATE TABLE iris AS SELECT * FROM '{iris}'; "
            + "SELECT model, version, promoted, reason, metric FROM pronto_train('iris', 'classification', 'SELECT sepal_length, sepal_width, petal_length, petal_width, species FROM iris'); "
            + "SELECT count(*) FILTER (WHERE species = 'setosa' AND pronto_label('iris', sepal_length, sepal_width, petal_length, petal_width) = 'setosa') AS setosa_right, "
            + "count(*) FILTER (WHERE species = pronto_label('iris', sepal_length, sepal_width, petal_length, petal_width)) AS right FROM iris");
        Assert.Equal("", error);
        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("│ iris  │ 1       │ True     │ the model's first version │ macro_f1 │", output, StringComparison.Ordinal);

        // Setosa is linearly separable: all 50 right; of the 150, measured 147 (the held-out split's errors and one more).
        var counts = output.Split('\n').Single(l => l.StartsWith("│ 50 ", StringComparison.Ordinal)).Split('│', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("50", counts[0]);
        Assert.InRange(int.Parse(counts[1], System.Globalization.CultureInfo.InvariantCulture), 140, 150);
        Assert.True(File.Exists(Path.Combine(_repository, "iris", "1", "model.onnx")));
    }

    [Fact]
    public async Task Minilm_fine_tuned_in_a_query_labels_texts_in_the_same_session()
    {
        var rows = string.Join(", ", LabeledTexts.Generate(40).Select(r => $"('{r.Text.Replace("'", "''", StringComparison.Ordinal)}', '{r.Label}')"));
        var (code, output, error) = await Sql(
            $"CREATE TABLE tickets AS SELECT * FROM (VALUES {rows}) t(text, label); "
            + "SELECT model, version, promoted, metric FROM pronto_train('tickets', 'minilm', 'SELECT text, label FROM tickets'); "
            + "SELECT count(*) AS n, count(*) FILTER (WHERE pronto_label('tickets', text) = label) AS right FROM tickets");
        Assert.Equal("", error);
        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("│ tickets │ 1       │ True     │ macro_f1 │", output, StringComparison.Ordinal);
        var counts = output.Split('\n').Single(l => l.StartsWith("│ 40 ", StringComparison.Ordinal)).Split('│', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.InRange(int.Parse(counts[1], System.Globalization.CultureInfo.InvariantCulture), 36, 40);
    }

    public static TheoryData<string, string> BadCalls => new()
    {
        { "SELECT * FROM pronto_train('x', 'clustering', 'SELECT 1 AS a, 2 AS b')", "pronto_train('x'): 'clustering' is neither classification, regression nor a base model in the repository {0}" },
        { "SELECT * FROM pronto_train('x', 'classification', 'SELECT 1 AS a, ''k'' AS b FROM range(10)')", "pronto_train('x'): the label column holds a single class ('k'): a classifier needs at least 2" },
        { "SELECT * FROM pronto_train('x', 'classification', 'SELECT ''k'' AS b')", "pronto_train('x'): the query gives 1 column(s); it must give the data then the label last" },
        { "SELECT * FROM pronto_train('x', 'minilm', 'SELECT 1 AS a, 2 AS b, 3 AS c')", "pronto_train('x'): fine-tuning minilm takes two columns, the text then the label; the query gives 3" },
        { "SELECT * FROM pronto_train('x', 'regression', 'SELECT NULL AS a, 1.5 AS y')", "pronto_train('x'): row 0 of the query: feature 'a' is empty" },
    };

    [Theory]
    [MemberData(nameof(BadCalls))]
    public async Task A_bad_call_is_a_clear_error_and_writes_nothing(string sql, string message)
    {
        var (code, output, error) = await Sql(sql);
        Assert.Equal(ExitCodes.InvalidArgument, code);
        Assert.StartsWith("error: Binder Error: " + string.Format(System.Globalization.CultureInfo.InvariantCulture, message, _repository) + "\n", error, StringComparison.Ordinal);
        Assert.Equal("", output);
        Assert.Equal(["minilm"], Directory.EnumerateFileSystemEntries(_repository).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_failing_training_query_names_duckdbs_error()
    {
        var (code, _, error) = await Sql("SELECT * FROM pronto_train('x', 'classification', 'SELECT * FROM nope')");
        Assert.Equal(ExitCodes.InvalidArgument, code);
        Assert.StartsWith("error: Binder Error: pronto_train('x'): the training query failed: Catalog Error: Table with name nope does not exist!", error, StringComparison.Ordinal);
    }
}
