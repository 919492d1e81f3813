using System.Buffers;
using System.Text.Json;
using Pronto.Core.Inference;
using Pronto.Core.Protocol;
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
    public async Task Fraud_json_output_is_the_protocol_response_and_top_asks_for_classes()
    {
        var fields = FieldsRequest();
        var (code, output, error) = await CliRunner.RunAsync("predict", "fraud", "--json", FraudJson, "--output", "json", "-r", fixture.Root);
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Equal(ProtocolJson(fields) + "\n", output);
        Assert.DoesNotContain("probabilities_top", output, StringComparison.Ordinal);

        // --top with JSON asks for the classification extension, as a request with "classification": 1 would.
        (code, output, _) = await CliRunner.RunAsync("predict", "fraud", "--json", FraudJson, "--top", "1", "--output", "json", "-r", fixture.Root);
        Assert.Equal(0, code);
        var classified = new InferenceRequest { ModelName = "fraud", Inputs = fields.Inputs, Outputs = [new RequestedOutput("probabilities", Classification: 1)] };
        Assert.Equal(ProtocolJson(classified) + "\n", output);
        using var doc = JsonDocument.Parse(output);
        Assert.EndsWith(":1:fraud", doc.RootElement.GetProperty("outputs")[0].GetProperty("data")[0].GetString(), StringComparison.Ordinal);
    }

    /// <summary>The README's Quick start body, with and without the classification extension, in both output formats.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_protocol_request_file_prints_the_protocol_response_or_the_class_table(bool classification)
    {
        var body = """{"inputs":[{"name":"features","shape":[1,6],"datatype":"FP32","data":[912.5,40,7,3,850,5]}]"""
            + (classification ? ""","outputs":[{"name":"probabilities","parameters":{"classification":2}}]}""" : "}");
        var path = Path.Combine(_temp, "request.json");
        await File.WriteAllTextAsync(path, body);

        var (code, output, error) = await CliRunner.RunAsync("predict", "fraud", "--input", path, "--output", "json", "-r", fixture.Root);
        Assert.Equal(0, code);
        Assert.Equal("", error);
        var bytes = System.Text.Encoding.UTF8.GetBytes(body);
        Assert.Equal(ProtocolJson(InferenceJson.ReadRequest(bytes, bytes.Length, "fraud", null).Request) + "\n", output);
        Assert.Equal(classification ? "BYTES" : "FP32", JsonDocument.Parse(output).RootElement.GetProperty("outputs")[0].GetProperty("datatype").GetString());

        // The table reads the classes back from "score:index:label" strings, or takes the top scores itself: the same rows.
        (code, output, error) = await CliRunner.RunAsync("predict", "fraud", "--input", path, "-r", fixture.Root);
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Equal(ClassTable(), output);
        Assert.Equal(output, (await CliRunner.RunAsync("predict", "fraud", "--json", FraudJson, "-r", fixture.Root)).Output);

        // --top caps the rows either way.
        (code, output, _) = await CliRunner.RunAsync("predict", "fraud", "--input", path, "--top", "1", "-r", fixture.Root);
        Assert.Equal(0, code);
        Assert.Equal(ClassTable(1), output);
    }

    [Fact]
    public async Task Text_and_image_json_output_is_the_protocol_response()
    {
        var (code, output, _) = await CliRunner.RunAsync("predict", "minilm", "--text", "my card was charged twice", "--text", "refund", "-o", "json", "-r", fixture.Root);
        Assert.Equal(0, code);
        Assert.Equal(ProtocolJson(new InferenceRequest { ModelName = "minilm", Inputs = [new NamedTensor("text", Tensor.FromStrings(["my card was charged twice", "refund"]))] }) + "\n", output);

        var image = TestImages.Landscape(300, 200);
        var path = Path.Combine(_temp, "photo.png");
        await File.WriteAllBytesAsync(path, image);
        (code, output, _) = await CliRunner.RunAsync("predict", "resnet18", "--image", path, "-o", "json", "-r", fixture.Root);
        Assert.Equal(0, code);
        Assert.Equal(ProtocolJson(new InferenceRequest { ModelName = "resnet18", Inputs = [new NamedTensor("image", Tensor.FromStrings([(ReadOnlyMemory<byte>)image], 1))] }) + "\n", output);
    }

    [Fact]
    public async Task The_table_shows_the_values_of_other_outputs()
    {
        TinyModels.WriteIdentity(_temp, "ints", DataType.Int64, ["batch", 3L]);
        TinyModels.WriteIdentity(_temp, "texts", DataType.Bytes, ["batch", 2L]);
        TinyModels.WriteAddConstant(_temp, "scores", 0f, 10);
        var ints = Path.Combine(_temp, "ints.json");
        await File.WriteAllTextAsync(ints, """{"inputs":[{"name":"x","shape":[2,3],"datatype":"INT64","data":[1,2,3,4,5,-6]}]}""");
        var texts = Path.Combine(_temp, "texts.json");
        await File.WriteAllTextAsync(texts, """{"inputs":[{"name":"x","shape":[1,2],"datatype":"BYTES","data":["a","b c"]}]}""");
        var scores = Path.Combine(_temp, "scores.json");
        await File.WriteAllTextAsync(scores, """{"inputs":[{"name":"x","shape":[1,10],"datatype":"FP32","data":[0,1,2,3,4,5,6,7,8,0.5]}],"outputs":[{"name":"y","parameters":{"classification":1}}]}""");

        Assert.Equal((0, "y: INT64[2,3]\n  [0] [1, 2, 3]\n  [1] [4, 5, -6]\n", ""), await CliRunner.RunAsync("predict", "ints", "--input", ints, "-r", _temp));
        Assert.Equal((0, "y: BYTES[1,2]\n  [0] [\"a\", \"b c\"]\n", ""), await CliRunner.RunAsync("predict", "texts", "--input", texts, "-r", _temp));

        // A classification of a model without labels: the index is the label, as in the protocol's strings ("8.000000:8:8").
        var (code, output, _) = await CliRunner.RunAsync("predict", "scores", "--input", scores, "-r", _temp);
        Assert.Equal(0, code);
        Assert.Contains("│ 0   │ 8     │ 800.0%      │", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Minilm_json_output_equals_a_direct_inference()
    {
        var (code, output, _) = await CliRunner.RunAsync("predict", "minilm", "--text", "my card was charged twice", "-o", "json", "-r", fixture.Root);
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var cli = doc.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        var direct = fixture.Service.InferDirect(new InferenceRequest
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
    [InlineData(2, "--top does not change an --input request; ask for classes in its outputs", "predict", "fraud", "--input", "request.json", "--top", "2", "-o", "json")]
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
    [InlineData("--response-cache-bytes", "-1", "Pronto:ResponseCacheBytes must be 0 (off) or positive.")]
    [InlineData("--price-per-cpu-hour", "-0.5", "Pronto:PricePerCpuHour must be 0 (off) or a positive number.")]
    public async Task Serve_with_invalid_settings_names_the_setting_and_exits_2(string flag, string value, string message)
    {
        var args = flag == "--enable-repository-api" ? new[] { "serve", flag, "-r", fixture.Root } : ["serve", flag, value, "-r", fixture.Root];
        var (code, _, error) = await CliRunner.RunAsync(args);
        Assert.Equal(2, code);
        Assert.StartsWith("error: " + message, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_with_a_bad_cron_in_its_jobs_file_names_the_job_and_exits_2()
    {
        var jobs = Path.Combine(_temp, "jobs.json");
        File.WriteAllText(jobs, """[{"name": "nightly", "cron": "0 25 * * *", "model": "fraud", "input": "in.csv", "output": "out-{time}.jsonl"}]""");
        var (code, _, error) = await CliRunner.RunAsync("serve", "--jobs", jobs, "-r", fixture.Root);
        Assert.Equal(2, code);
        Assert.StartsWith("error: Pronto:Jobs 'nightly': Cron '0 25 * * *' is not a cron expression (", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_repository_is_not_found()
    {
        var (code, _, error) = await CliRunner.RunAsync("models", "list", "-r", Path.Combine(_temp, "nowhere"));
        Assert.Equal(3, code);
        Assert.Contains("does not exist", error, StringComparison.Ordinal);
    }

    private static InferenceRequest FieldsRequest() => new()
    {
        ModelName = "fraud",
        Inputs = [new NamedTensor("fields", Tensor.FromStrings([FraudJson]))],
    };

    /// <summary>What the server's REST infer writes for <paramref name="request"/>: InferenceJson over a direct inference.</summary>
    private string ProtocolJson(InferenceRequest request)
    {
        var buffer = new ArrayBufferWriter<byte>();
        InferenceJson.WriteResponse(buffer, fixture.Service.InferDirect(request));
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The class table of FraudJson's transaction, from a direct inference: fraud first, then legit.</summary>
    private string ClassTable(int rows = 2)
    {
        var p = fixture.Service.InferDirect(FieldsRequest()).Outputs[0].Tensor.ToArray<float>();
        string Percent(float v) => ((v * 100).ToString("F1", System.Globalization.CultureInfo.InvariantCulture) + "%").PadRight(11);
        return "┌─────┬───────┬─────────────┐\n"
            + "│ Row │ Label │ Probability │\n"
            + "├─────┼───────┼─────────────┤\n"
            + $"│ 0   │ fraud │ {Percent(p[1])} │\n"
            + (rows > 1 ? $"│ 0   │ legit │ {Percent(p[0])} │\n" : "")
            + "└─────┴───────┴─────────────┘\n";
    }

    public void Dispose() => Directory.Delete(_temp, recursive: true);
}
