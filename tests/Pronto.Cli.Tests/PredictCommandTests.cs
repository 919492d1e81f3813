using System.Text.Json;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;
using Pronto.Testing;

namespace Pronto.Cli.Tests;

[Collection(BundledCollection.Name)]
public sealed class PredictCommandTests(BundledRepositoryFixture fixture) : IDisposable
{
    private const string FraudJson = """{"amount": 912.5, "customer_avg_amount": 40, "merchant_category": 7, "hour": 3, "distance_km": 850, "txn_last_hour": 5}""";
    private readonly string _temp = Directory.CreateTempSubdirectory("pronto-cli-").FullName;

    [Fact]
    public async Task Fraud_prints_labels_with_probabilities()
    {
        var (code, output, error) = await CliRunner.RunAsync("predict", "fraud", "--json", FraudJson, "-r", fixture.Root);
        Assert.Equal(0, code);
        Assert.Equal("", error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.Contains("│ 0   │ fraud │", StringComparison.Ordinal) && l.Contains('%', StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("│ 0   │ legit │", StringComparison.Ordinal));

        // The fraud row comes first: it is the more probable class for this transaction.
        Assert.True(output.IndexOf("fraud │", StringComparison.Ordinal) < output.IndexOf("legit │", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Fraud_json_output_is_the_protocol_response_with_top_k()
    {
        var (code, output, _) = await CliRunner.RunAsync("predict", "fraud", "--json", FraudJson, "--top", "1", "--output", "json", "-r", fixture.Root);
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal("fraud", root.GetProperty("model_name").GetString());
        Assert.Equal("1", root.GetProperty("model_version").GetString());
        var outputs = root.GetProperty("outputs");
        Assert.Equal("probabilities", outputs[0].GetProperty("name").GetString());
        var p = outputs[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(2, p.Length);
        Assert.Equal(1f, p[0] + p[1], 5);
        Assert.Equal("probabilities_top", outputs[1].GetProperty("name").GetString());
        var top = outputs[1].GetProperty("data")[0].GetString()!;
        Assert.EndsWith(":1:fraud", top, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Minilm_json_output_equals_a_direct_inference()
    {
        var (code, output, _) = await CliRunner.RunAsync("predict", "minilm", "--text", "my card was charged twice", "-o", "json", "-r", fixture.Root);
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var cli = doc.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        var direct = fixture.Service.Infer(new InferenceRequest
        {
            ModelName = "minilm",
            Inputs = [new NamedTensor("text", Tensor.FromStrings(["my card was charged twice"]))],
        }).Outputs[0].Tensor.ToArray<float>();
        Assert.Equal(direct, cli);
    }

    [Fact]
    public async Task Resnet18_takes_an_image_file()
    {
        var path = Path.Combine(_temp, "photo.png");
        await File.WriteAllBytesAsync(path, TestImages.Landscape(300, 200));
        var (code, output, _) = await CliRunner.RunAsync("predict", "resnet18", "--image", path, "-r", fixture.Root);
        Assert.Equal(0, code);
        Assert.StartsWith("embedding: FP32[1,512]\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_protocol_request_file_runs_raw_tensors()
    {
        var path = Path.Combine(_temp, "request.json");
        await File.WriteAllTextAsync(path, """{"id":"r1","inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[[42.5,50,0,18,3,1]]}]}""");
        var (code, output, _) = await CliRunner.RunAsync("predict", "fraud", "--input", path, "-o", "json", "-r", fixture.Root);
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal("r1", doc.RootElement.GetProperty("id").GetString());
        Assert.Equal("probabilities", doc.RootElement.GetProperty("outputs")[0].GetProperty("name").GetString());
    }

    [Theory]
    [InlineData(2, "row 0: missing fields customer_avg_amount, merchant_category, hour, distance_km, txn_last_hour", "predict", "fraud", "--json", """{"amount": 1}""")]
    [InlineData(2, "row 0: field 'hour' must be a number, got a string", "predict", "fraud", "--json", """{"amount": 1, "customer_avg_amount": 1, "merchant_category": 1, "hour": "three", "distance_km": 1, "txn_last_hour": 1}""")]
    [InlineData(2, "row 0: malformed JSON", "predict", "fraud", "--json", "{not json")]
    [InlineData(2, "model 'fraud' does not take --text; it takes --json", "predict", "fraud", "--text", "hello")]
    [InlineData(2, "give exactly one of --json, --text, --image or --input; model 'minilm' takes --text", "predict", "minilm")]
    [InlineData(2, "image file 'missing.jpg' does not exist", "predict", "resnet18", "--image", "missing.jpg")]
    [InlineData(2, "--top must be at least 1, got 0", "predict", "fraud", "--json", "{}", "--top", "0")]
    [InlineData(3, "model 'ghost' is not in the repository", "predict", "ghost", "--text", "x")]
    [InlineData(2, "'../etc' is not a valid model name", "predict", "../etc", "--text", "x")]
    public async Task Bad_input_says_what_was_wrong_and_exits_non_zero(int exitCode, string message, params string[] args)
    {
        var (code, output, error) = await CliRunner.RunAsync([.. args, "-r", fixture.Root]);
        Assert.Equal(exitCode, code);
        Assert.Equal("", output);
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_options_are_usage_errors()
    {
        var (code, _, error) = await CliRunner.RunAsync("predict", "fraud", "--bogus", "1");
        Assert.Equal(2, code);
        Assert.Contains("--bogus", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--http-port", "70000", "Pronto:HttpPort must be 0..65535.")]
    [InlineData("--enable-repository-api", "true", "Pronto:AdminKeys needs at least one key when EnableRepositoryApi is true.")]
    [InlineData("--host", "example.com", "Pronto:Host 'example.com' is not an IP address")]
    public async Task Serve_with_invalid_settings_names_the_setting_and_exits_2(string flag, string value, string message)
    {
        var args = flag == "--enable-repository-api" ? new[] { "serve", flag, "-r", fixture.Root } : ["serve", flag, value, "-r", fixture.Root];
        var (code, _, error) = await CliRunner.RunAsync(args);
        Assert.Equal(2, code);
        Assert.StartsWith("error: " + message, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_repository_is_not_found()
    {
        var (code, _, error) = await CliRunner.RunAsync("models", "list", "-r", Path.Combine(_temp, "nowhere"));
        Assert.Equal(3, code);
        Assert.Contains("does not exist", error, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_temp, recursive: true);
}
