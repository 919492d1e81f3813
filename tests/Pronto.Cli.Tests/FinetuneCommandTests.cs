using System.Globalization;
using System.Text;
using Pronto.Testing;

namespace Pronto.Cli.Tests;

/// <summary>
/// <c>pronto finetune</c> against a temporary repository that links the bundled minilm and resnet18. Text rows are
/// <see cref="LabeledTexts"/> (generated data standing in for labeled tickets); images are generated PNGs.
/// Every bad-data case exits 2 with its exact message and writes nothing.
/// </summary>
[Collection(BundledCollection.Name)]
public sealed class FinetuneCommandTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("pronto-cli-finetune-").FullName;
    private readonly string _repository;

    public FinetuneCommandTests(BundledRepositoryFixture fixture)
    {
        _repository = Path.Combine(_temp, "repository");
        Directory.CreateDirectory(_repository);
        Directory.CreateSymbolicLink(Path.Combine(_repository, "minilm"), Path.Combine(fixture.Root, "minilm"));
        Directory.CreateSymbolicLink(Path.Combine(_repository, "resnet18"), Path.Combine(fixture.Root, "resnet18"));
    }

    private string Csv(string name, string text)
    {
        var path = Path.Combine(_temp, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static string Rows(IEnumerable<(string Text, string Label)> rows) =>
        "text,label\n" + string.Concat(rows.Select(r => $"{r.Text},{r.Label}\n"));

    private async Task AssertFailsAsync(string expectedError, params string[] args)
    {
        var (code, output, error) = await CliRunner.RunAsync(["finetune", "tickets", .. args, "--model-repository", _repository]);
        Assert.Equal("", output);
        Assert.Equal($"error: {expectedError}\n", error);
        Assert.Equal(ExitCodes.InvalidArgument, code);
        Assert.Equal(["minilm", "resnet18"], Directory.EnumerateFileSystemEntries(_repository).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Empty_file()
    {
        var path = Csv("empty.csv", "");
        await AssertFailsAsync($"data file '{path}' is empty", "--base", "minilm", "--data", path);
    }

    [Fact]
    public async Task Header_without_rows()
    {
        var path = Csv("header.csv", "text,label\n");
        await AssertFailsAsync($"data file '{path}' holds no rows", "--base", "minilm", "--data", path);
    }

    [Fact]
    public async Task Single_class()
    {
        var path = Csv("one.csv", Rows(LabeledTexts.Generate(40).Where(r => r.Label == "login")));
        await AssertFailsAsync("the data holds a single class ('login'): a classifier needs at least 2", "--base", "minilm", "--data", path);
    }

    [Fact]
    public async Task Missing_label_column()
    {
        var path = Csv("nolabel.csv", "text,topic\nwhere is my parcel,delivery\n");
        await AssertFailsAsync($"'{path}' has no column 'label' (columns: text, topic); name it with --label-column", "--base", "minilm", "--data", path);
    }

    [Fact]
    public async Task Labels_that_are_not_strings_or_integers()
    {
        // CSV values are all text; JSONL and Parquet columns are typed (a JSONL column takes its first line's kind).
        var floats = Csv("float.jsonl", "{\"text\":\"where is my parcel\",\"label\":1.5}\n{\"text\":\"my bill is wrong\",\"label\":2.5}\n");
        await AssertFailsAsync("label column 'label' holds Double values; labels must be strings or integers", "--base", "minilm", "--data", floats);
    }

    [Fact]
    public async Task Fewer_than_two_held_out_examples_of_a_class()
    {
        // 4 refund rows at 0.2 hold out round(0.8) = 1.
        var rows = LabeledTexts.Generate(40).Where(r => r.Label != "refund").Concat(LabeledTexts.Generate(16).Where(r => r.Label == "refund"));
        var path = Csv("few.csv", Rows(rows));
        await AssertFailsAsync(
            "class 'refund' has 1 example(s) in the held-out split of 4 (at least 2 are needed to measure it): add examples of 'refund' or choose a larger --test-fraction (now 0.2)",
            "--base", "minilm", "--data", path);
    }

    [Fact]
    public async Task Missing_image_names_its_path()
    {
        var path = Csv("images.csv", "image,label\nmissing.png,cat\n");
        var image = Path.Combine(_temp, "missing.png");
        await AssertFailsAsync($"unreadable image '{image}': Could not find file '{image}'.", "--base", "resnet18", "--data", path);
    }

    [Fact]
    public async Task Image_that_does_not_decode_names_its_path_and_row()
    {
        var folder = ImageFolder(perClass: 5);
        File.WriteAllText(Path.Combine(folder, "dog", "broken.png"), "not a png");
        var broken = Path.Combine(folder, "dog", "broken.png");
        var (code, output, error) = await CliRunner.RunAsync("finetune", "pets", "--base", "resnet18", "--data", folder, "--test-fraction", "0.4", "--model-repository", _repository);
        Assert.Equal("", output);
        Assert.StartsWith($"error: unreadable image '{broken}': ", error, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.InvalidArgument, code);
        Assert.Equal(["minilm", "resnet18"], Directory.EnumerateFileSystemEntries(_repository).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Image_folder_on_resnet18_writes_a_classifier_version()
    {
        var folder = ImageFolder(perClass: 5);
        var (code, output, error) = await CliRunner.RunAsync("finetune", "pets", "--base", "resnet18", "--data", folder, "--test-fraction", "0.4", "--model-repository", _repository);
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Contains("pets version 1 (base resnet18, seed 42): 6 training / 4 held-out examples, 2 classes\n", output, StringComparison.Ordinal);
        Assert.EndsWith($"wrote {Path.Combine(_repository, "pets", "1")} (model.onnx, report.json)\n", output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_repository, "pets", "mean_image.bin")));

        // Serving the exported graph is checked once, on minilm (FinetunerTests): loading a second 63 MB graph here would double this test.
    }

    /// <summary>Two visibly different generated classes: landscapes ("cat") and checkerboards ("dog"), sizes varied.</summary>
    private string ImageFolder(int perClass)
    {
        var root = Path.Combine(_temp, "images");
        Directory.CreateDirectory(Path.Combine(root, "cat"));
        Directory.CreateDirectory(Path.Combine(root, "dog"));
        for (var i = 0; i < perClass; i++)
        {
            var name = i.ToString(CultureInfo.InvariantCulture) + ".png";
            File.WriteAllBytes(Path.Combine(root, "cat", name), TestImages.Landscape(48 + (8 * i), 40 + (4 * i)));
            File.WriteAllBytes(Path.Combine(root, "dog", name), TestImages.Checkerboard(40 + (4 * i), 48 + (8 * i)));
        }

        return root;
    }

    public void Dispose() => Directory.Delete(_temp, recursive: true);
}
