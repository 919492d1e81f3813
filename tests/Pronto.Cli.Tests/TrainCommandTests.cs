using Pronto.Testing;

namespace Pronto.Cli.Tests;

/// <summary>
/// <c>pronto train NAME --data --label</c> on scikit-learn's iris table (Debian's python3-sklearn) into a temporary
/// repository, then <c>pronto predict</c> on the model it wrote; every bad table exits 2 with its exact message and
/// writes nothing. Rows are numbered from 0 (the first after the header), as pronto finetune and pronto batch number them.
/// </summary>
public sealed class TrainCommandTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("pronto-cli-train-").FullName;
    private readonly string _repository;

    public TrainCommandTests()
    {
        _repository = Path.Combine(_temp, "repository");
        Directory.CreateDirectory(_repository);
    }

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private string Csv(string name, string text)
    {
        var path = Path.Combine(_temp, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Iris_trains_into_the_repository_and_predicts_from_json_fields()
    {
        var iris = SklearnTables.Iris(_temp);
        var (code, output, error) = await CliRunner.RunAsync(["train", "iris", "--data", iris, "--label", "species", "--model-repository", _repository]);
        Assert.Equal("", error);
        Assert.Equal(ExitCodes.Success, code);
        var lines = output.Split('\n');
        Assert.Equal("iris version 1 (classification, 3 classes, seed 42): 120 training / 30 held-out rows, 4 features", lines[0]);
        Assert.Matches(@"^trainers \(held-out macro_f1\): fasttree 0\.\d{4}, sdca 0\.\d{4}; chosen: (fasttree|sdca)$", lines[1]);
        Assert.Equal("promoted: the model's first version", lines[^3]);
        Assert.Equal($"wrote {Path.Combine(_repository, "iris", "1")} (model.onnx, report.json)", lines[^2]);
        Assert.Equal(["setosa", "versicolor", "virginica"], File.ReadAllLines(Path.Combine(_repository, "iris", "labels.txt")));

        // Row 150 of the set (a virginica); row 1 (a setosa).
        (code, output, _) = await CliRunner.RunAsync(["predict", "iris", "-o", "json", "-k", "1",
            "--json", """{"sepal_length":5.9,"sepal_width":3.0,"petal_length":5.1,"petal_width":1.8}""",
            "--json", """{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}""",
            "--model-repository", _repository]);
        Assert.Equal(ExitCodes.Success, code);
        Assert.Matches("\"data\":\\[\"0\\.\\d{6}:2:virginica\",\"0\\.\\d{6}:0:setosa\"\\]", output);
    }

    public static TheoryData<string, string, string[], string> BadTables => new()
    {
        { "empty.csv", "", [], "data file '{0}' is empty" },
        { "header.csv", "a,b,label\n", [], "data file '{0}' holds no rows" },
        { "nolabel.csv", "a,b,kind\n1,2,x\n", [], "'{0}' has no column 'label' (columns: a, b, kind); name it with --label" },
        { "text.csv", "a,b,label\n1,2,x\n3,abc,y\n", [], "row 1 of '{0}': feature 'b' is 'abc', not a finite number" },
        { "blank.csv", "a,b,label\n1,,x\n", [], "row 0 of '{0}': feature 'b' is empty" },
        { "nofeature.csv", "a,b,label\n1,2,x\n", ["--features", "a,c"], "'{0}' has no column 'c' (columns: a, b, label); name it with --features" },
        { "onlylabel.csv", "label\nx\n", [], "'{0}' has no feature column besides the label 'label'" },
        { "single.csv", "a,label\n1,x\n2,x\n3,x\n", [], "the label column holds a single class ('x'): a classifier needs at least 2" },
        { "fewheld.csv", "a,label\n1,x\n2,x\n3,y\n4,y\n5,y\n6,y\n7,y\n8,y\n9,y\n10,y\n", [], "class 'x' has 0 example(s) in the held-out split of 2 (at least 2 are needed to measure it): add examples of 'x' or choose a larger --test-fraction (now 0.2)" },
    };

    [Theory]
    [MemberData(nameof(BadTables))]
    public async Task A_bad_table_exits_2_with_its_message_and_writes_nothing(string file, string text, string[] extra, string message)
    {
        var path = Csv(file, text);
        var (code, output, error) = await CliRunner.RunAsync(["train", "bad", "--data", path, "--label", "label", .. extra, "--model-repository", _repository]);
        Assert.Equal("", output);
        Assert.Equal($"error: {string.Format(System.Globalization.CultureInfo.InvariantCulture, message, path)}\n", error);
        Assert.Equal(ExitCodes.InvalidArgument, code);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_repository));
    }
}
