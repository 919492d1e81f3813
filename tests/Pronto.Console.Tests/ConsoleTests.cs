using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Playwright;
using Pronto.Core.Generation;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;
using Pronto.Testing;

namespace Pronto.Console.Tests;

/// <summary>
/// The web console in headless Chromium against a real server: each page renders from the server's own APIs, each
/// bundled model's try-it panel shows what the API answers for the same input, errors are the API's messages on the
/// page, and keys are what the user typed. A screenshot of each page is kept (console-screenshots/ beside the tests).
/// </summary>
[Collection(ConsoleCollection.Name)]
public sealed class ConsoleTests(ConsoleFixture fixture)
{
    private static readonly Dictionary<string, double> Transaction = new()
    {
        ["amount"] = 950, ["customer_avg_amount"] = 40, ["merchant_category"] = 3, ["hour"] = 3, ["distance_km"] = 800, ["txn_last_hour"] = 6,
    };

    [Fact]
    public async Task Without_the_api_key_the_page_shows_the_servers_401_and_asks_for_it()
    {
        var page = await fixture.OpenAsync(apiKey: null);
        Assert.Equal("401: missing or invalid credentials: send 'Authorization: Bearer <key>' with an API key", await page.TextContentAsync("#view .error"));
        Assert.Equal("This server needs an API key: type it under Keys.", await page.TextContentAsync("#view p"));
        await fixture.ShotAsync(page, "no-key");
        await page.CloseAsync();
    }

    [Fact]
    public async Task The_models_page_lists_the_ready_models_with_kind_and_tensors()
    {
        var page = await fixture.OpenAsync("#/models");
        var names = await page.Locator("#models tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.model)");
        Assert.Equal(["fraud", "minilm", "resnet18", "tiny"], names.Order(StringComparer.Ordinal));
        Assert.Equal("READY", await page.TextContentAsync("tr[data-model=fraud] .state"));
        Assert.Equal("fields → classify", await page.TextContentAsync("tr[data-model=fraud] .kind"));
        Assert.Equal("text → embedding", await page.TextContentAsync("tr[data-model=minilm] .kind"));
        Assert.Equal("image → embedding", await page.TextContentAsync("tr[data-model=resnet18] .kind"));
        Assert.Equal("generative", await page.TextContentAsync("tr[data-model=tiny] .kind"));
        Assert.Equal(0, await page.Locator("button[data-action]").CountAsync());
        Assert.Equal("", await page.EvaluateAsync<string>("() => sessionStorage.getItem('pronto.adminKey')"));
        await fixture.ShotAsync(page, "models");
        await page.CloseAsync();
    }

    [Fact]
    public async Task With_the_admin_key_a_model_unloads_and_loads_from_the_page()
    {
        var page = await fixture.OpenAsync("#/models", adminKey: ConsoleFixture.AdminKey);
        Assert.Equal("READY", await page.TextContentAsync("tr[data-model=resnet18] .state"));
        await page.ClickAsync("tr[data-model=resnet18] button[data-action=unload]");
        await ConsoleFixture.SettleAsync(page);
        Assert.Equal("UNAVAILABLE", await page.TextContentAsync("tr[data-model=resnet18] .state"));
        Assert.False(fixture.Server.Repository.IsServable("resnet18"));
        await fixture.ShotAsync(page, "models-admin");
        await page.ClickAsync("tr[data-model=resnet18] button[data-action=load]");
        await ConsoleFixture.SettleAsync(page);
        Assert.Equal("READY", await page.TextContentAsync("tr[data-model=resnet18] .state"));
        Assert.True(fixture.Server.Repository.IsServable("resnet18"));
        await page.CloseAsync();
    }

    [Fact]
    public async Task Fraud_try_it_shows_the_classification_as_bars_with_percentages()
    {
        var page = await fixture.OpenAsync("#/models/fraud");
        foreach (var (name, value) in Transaction)
        {
            await page.FillAsync($"#try input[name={name}]", value.ToString(CultureInfo.InvariantCulture));
        }

        await page.ClickAsync("#try button[type=submit]");
        await ConsoleFixture.SettleAsync(page);

        var expected = await fixture.Service.InferAsync(new InferenceRequest
        {
            ModelName = "fraud",
            Inputs = [new NamedTensor("fields", Tensor.FromStrings([(ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(JsonSerializer.Serialize(Transaction))], 1))],
            Outputs = [new RequestedOutput("probabilities", 2)],
        });
        var tensor = expected.Outputs[0].Tensor;
        var classes = Enumerable.Range(0, tensor.Strings.Count).Select(i => tensor.GetString(i).Split(':', 3)).ToArray();
        var labels = await page.Locator("#result .bar").EvaluateAllAsync<string[]>("bars => bars.map(b => b.dataset.label)");
        var percentages = await page.Locator("#result .bar .pct").AllTextContentsAsync();
        Assert.Equal(classes.Select(c => c[2]), labels);
        Assert.Equal(classes.Select(c => (double.Parse(c[0], CultureInfo.InvariantCulture) * 100).ToString("F1", CultureInfo.InvariantCulture) + "%"), percentages);
        Assert.Equal("fraud", labels[0]);
        await fixture.ShotAsync(page, "try-fraud");
        await page.CloseAsync();
    }

    [Fact]
    public async Task Minilm_try_it_shows_the_apis_embedding()
    {
        var page = await fixture.OpenAsync("#/models/minilm");
        await page.FillAsync("#try-text", "a cat sat on the mat");
        await page.ClickAsync("#try button[type=submit]");
        await ConsoleFixture.SettleAsync(page);
        var expected = await Embedding("minilm", "text", Encoding.UTF8.GetBytes("a cat sat on the mat"));
        Assert.Equal(Summary(expected), await page.TextContentAsync("#result .embedding-summary"));
        Assert.Equal(First8(expected), await page.TextContentAsync("#result .embedding-values"));
        await fixture.ShotAsync(page, "try-minilm");
        await page.CloseAsync();
    }

    [Fact]
    public async Task Resnet18_try_it_uploads_an_image_through_the_binary_extension()
    {
        var image = TestImages.Landscape(320, 240);
        var file = Path.Combine(fixture.Root, "landscape.png");
        await File.WriteAllBytesAsync(file, image);
        var page = await fixture.OpenAsync("#/models/resnet18");
        await page.SetInputFilesAsync("#try-image", file);
        await page.ClickAsync("#try button[type=submit]");
        await ConsoleFixture.SettleAsync(page);
        var expected = await Embedding("resnet18", "image", image);
        Assert.Equal(Summary(expected), await page.TextContentAsync("#result .embedding-summary"));
        Assert.Equal(First8(expected), await page.TextContentAsync("#result .embedding-values"));
        await fixture.ShotAsync(page, "try-resnet18");
        await page.CloseAsync();
    }

    [Fact]
    public async Task Bad_input_shows_the_apis_error_on_the_page_and_the_server_keeps_serving()
    {
        var page = await fixture.OpenAsync("#/models/fraud");
        await page.FillAsync("#try input[name=amount]", "");
        await page.EvaluateAsync("() => document.querySelector('#try input[name=amount]').removeAttribute('required')");
        await page.ClickAsync("#try button[type=submit]");
        await ConsoleFixture.SettleAsync(page);
        var error = await page.TextContentAsync("#result .error");
        Assert.StartsWith("400: ", error, StringComparison.Ordinal);
        Assert.Contains("amount", error, StringComparison.Ordinal);
        await fixture.ShotAsync(page, "try-fraud-error");
        Assert.True(fixture.Server.Repository.IsServable("fraud"));
        await page.CloseAsync();
    }

    [Fact]
    public async Task The_chat_playground_streams_the_models_greedy_answer()
    {
        var page = await fixture.OpenAsync("#/models/tiny");
        await page.FillAsync("#chat-text", "hello");
        await page.FillAsync("#chat-max-tokens", "8");
        await page.ClickAsync("#try button[type=submit]");
        await ConsoleFixture.SettleAsync(page);

        using var lease = fixture.Server.Repository.Acquire("tiny");
        var model = lease.Model.Generative!;
        var prompt = model.Tokenizer.Encode("<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n");
        var expected = new StringBuilder();
        await foreach (var chunk in model.Engine.Generate(prompt, new SamplingParameters { Temperature = 0, MaxTokens = 8 }, CancellationToken.None))
        {
            expected.Append(chunk.Text);
        }

        Assert.Equal(["user", "assistant"], await page.Locator("#chat-log .msg b").AllTextContentsAsync());
        Assert.Equal(["hello", expected.ToString()], await page.Locator("#chat-log .msg .content").AllTextContentsAsync());
        await fixture.ShotAsync(page, "chat");

        // Past the context: the server's 400 on the page, the conversation as it was.
        await page.FillAsync("#chat-text", "again");
        await page.FillAsync("#chat-max-tokens", "500");
        await page.ClickAsync("#try button[type=submit]");
        await ConsoleFixture.SettleAsync(page);
        Assert.StartsWith("400: model 'tiny' reads 96 tokens at most", await page.TextContentAsync("#chat-error .error"), StringComparison.Ordinal);
        Assert.Equal(2, await page.Locator("#chat-log .msg").CountAsync());
        await page.CloseAsync();
    }

    [Fact]
    public async Task The_metrics_page_plots_throughput_and_latency_from_the_servers_statistics()
    {
        var page = await fixture.OpenAsync("#/metrics");
        var before = Count("minilm");
        await page.EvaluateAsync("() => pronto.sample()");
        for (var i = 0; i < 3; i++)
        {
            await Embedding("minilm", "text", Encoding.UTF8.GetBytes($"text {i}"));
        }

        await page.EvaluateAsync("() => pronto.sample()");
        var after = Count("minilm");
        Assert.Equal(before + 3, after);
        Assert.Equal(after.ToString(CultureInfo.InvariantCulture), await page.TextContentAsync("#stats tr[data-model='minilm/1'] .inferences"));
        Assert.Equal(1, await page.Locator("#throughput polyline[data-series='minilm/1']").CountAsync());
        Assert.Equal(1, await page.Locator("#latency polyline[data-series='minilm/1']").CountAsync());

        // Three samples, two intervals: the last one holds the three inferences, so its point is the chart's maximum.
        var points = await page.GetAttributeAsync("#throughput polyline[data-series='minilm/1']", "points");
        Assert.Equal(2, points!.Split(' ').Length);
        await fixture.ShotAsync(page, "metrics");
        await page.CloseAsync();
    }

    [Fact]
    public async Task The_jobs_page_shows_the_schedule_and_the_run_history()
    {
        var page = await fixture.OpenAsync("#/jobs");
        Assert.Equal("0 2 1 1 * (UTC)", await page.TextContentAsync("#jobs tr[data-job=nightly] td:nth-child(3)"));
        Assert.Equal("succeeded", await page.TextContentAsync("#runs tr[data-run='nightly@20261201T020000Z'] .status"));
        Assert.Equal("125000", await page.TextContentAsync("#runs tr[data-run='nightly@20261201T020000Z'] .rows"));
        await fixture.ShotAsync(page, "jobs");
        await page.CloseAsync();
    }

    private long Count(string model) => fixture.Server.Repository.ReadyModels().Single(m => m.Name == model).Statistics.Snapshot().InferenceCount;

    private async Task<float[]> Embedding(string model, string input, byte[] item)
    {
        var response = await fixture.Service.InferAsync(new InferenceRequest
        {
            ModelName = model,
            Inputs = [new NamedTensor(input, input == "image" ? Tensor.FromStrings([(ReadOnlyMemory<byte>)item], 1, 1) : Tensor.FromStrings([(ReadOnlyMemory<byte>)item], 1))],
            Outputs = [new RequestedOutput("embedding")],
        });
        return response.Outputs[0].Tensor.ToArray<float>();
    }

    private static string Summary(float[] v) =>
        string.Create(CultureInfo.InvariantCulture, $"embedding: {v.Length} dims, L2 norm {Math.Sqrt(v.Sum(x => (double)x * x)):F4}");

    private static string First8(float[] v) =>
        string.Join("  ", v.Take(8).Select(x => ((double)x).ToString("F6", CultureInfo.InvariantCulture))) + (v.Length > 8 ? "  …" : "");
}
