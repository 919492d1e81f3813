using Pronto.Testing;

namespace Pronto.Cli.Tests;

[Collection(BundledCollection.Name)]
public sealed class ModelsCommandTests(BundledRepositoryFixture fixture) : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("pronto-cli-models-").FullName;

    [Fact]
    public async Task List_shows_every_bundled_model_ready_with_its_inputs()
    {
        var (code, output, _) = await CliRunner.RunAsync("models", "list", "-r", fixture.Root);
        Assert.Equal(0, code);
        var rows = output.Split('\n').Where(l => l.StartsWith("│ ", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, rows.Count);
        Assert.StartsWith("│ Name", rows[0], StringComparison.Ordinal);
        Assert.Contains("│ fraud    │ 1        │ READY │ fields BYTES [-1,1] (a JSON object of named numeric fields); or raw: features FP32 [-1,6]", rows[1], StringComparison.Ordinal);
        Assert.StartsWith("│ minilm   │ 1        │ READY │ text BYTES [-1,1] (UTF-8 text); or raw: input_ids INT64 [-1,-1], ", rows[2], StringComparison.Ordinal);
        Assert.StartsWith("│ resnet18 │ 1        │ READY │ image BYTES [-1,1] (encoded image", rows[3], StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_shows_a_broken_model_as_unavailable_with_its_reason()
    {
        TinyModels.WriteAddConstant(_temp, "good", 1f, 2);
        Directory.CreateDirectory(Path.Combine(_temp, "broken", "1"));
        await File.WriteAllTextAsync(Path.Combine(_temp, "broken", "1", "model.onnx"), "garbage");
        var (code, output, _) = await CliRunner.RunAsync("models", "list", "-r", _temp);
        Assert.Equal(0, code);
        Assert.Contains("│ broken │          │ UNAVAILABLE: ONNX Runtime cannot load 'model.onnx': [ErrorCode:InvalidProtobuf]", output, StringComparison.Ordinal);
        Assert.Matches(@"│ good   │ 1        │ READY +│ x FP32 \[-1,2\] +│ y FP32 \[-1,2\] +│", output);
    }

    [Fact]
    public async Task Inspect_prints_state_inputs_and_config()
    {
        var (code, output, _) = await CliRunner.RunAsync("models", "inspect", "fraud", "-r", fixture.Root);
        Assert.Equal(0, code);
        var lines = output.Split('\n');
        Assert.Equal("fraud version 1: READY", lines[0]);
        Assert.Equal("inputs:  fields BYTES [-1,1] (a JSON object of named numeric fields); or raw: features FP32 [-1,6]", lines[1]);
        Assert.Equal("outputs: probabilities FP32 [-1,2]", lines[2]);
        Assert.Contains("max_batch_size: 4096", output, StringComparison.Ordinal);
        Assert.Contains("label_filename: \"labels.txt\"", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inspect_of_an_unknown_model_exits_3()
    {
        var (code, _, error) = await CliRunner.RunAsync("models", "inspect", "ghost", "-r", fixture.Root);
        Assert.Equal(3, code);
        Assert.StartsWith("error: model 'ghost' is not in the repository", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Prepare_builds_a_zoo_model_into_the_repository_once_and_refuses_an_unknown_name()
    {
        var (code, output, error) = await CliRunner.RunAsync("models", "prepare", "minilm", "-r", _temp);
        Assert.Equal(0, code);
        Assert.StartsWith($"prepared 'minilm' in {Path.Combine(_temp, "minilm")} (", output, StringComparison.Ordinal);
        Assert.Equal($"preparing bundled model 'minilm' in {Path.Combine(_temp, "minilm")}\n", error);
        Assert.Equal(["config.pbtxt", "vocab.txt"], Directory.GetFiles(Path.Combine(_temp, "minilm")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Single(Directory.GetDirectories(_temp));

        var again = await CliRunner.RunAsync("models", "prepare", "minilm", "-r", _temp);
        Assert.Equal(0, again.ExitCode);
        Assert.Equal($"'minilm' is already prepared in {Path.Combine(_temp, "minilm")}\n", again.Output);

        var unknown = await CliRunner.RunAsync("models", "prepare", "gpt-5", "-r", _temp);
        Assert.Equal(3, unknown.ExitCode);
        Assert.Equal("error: 'gpt-5' is not a zoo model; the zoo prepares minilm, resnet18, fraud, support-chat\n", unknown.Error);
    }

    [Fact]
    public async Task Train_fraud_writes_a_complete_model_folder_and_refuses_to_overwrite()
    {
        var target = Path.Combine(_temp, "fraud");
        var (code, output, _) = await CliRunner.RunAsync("train", "fraud", "--train-rows", "3000", "--test-rows", "1000", "--output", target);
        Assert.Equal(0, code);
        Assert.Matches(@"ROC AUC \(held-out\): 0\.\d{4}", output);
        Assert.True(File.Exists(Path.Combine(target, "1", "model.onnx")));
        Assert.Equal(["legit", "fraud"], await File.ReadAllLinesAsync(Path.Combine(target, "labels.txt")));

        // The trained folder is a servable model: predict runs on it.
        var predict = await CliRunner.RunAsync("predict", "fraud", "-r", _temp, "--json",
            """{"amount": 10, "customer_avg_amount": 12, "merchant_category": 0, "hour": 12, "distance_km": 1, "txn_last_hour": 0}""");
        Assert.Equal(0, predict.ExitCode);

        var again = await CliRunner.RunAsync("train", "fraud", "--output", target);
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("is not empty", again.Error, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_temp, recursive: true);
}
