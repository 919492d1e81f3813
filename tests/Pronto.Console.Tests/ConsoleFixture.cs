using System.Text.Json;
using Microsoft.Playwright;
using Pronto.Core.Inference;
using Pronto.Models;
using Pronto.Server;
using Pronto.Server.Jobs;
using Pronto.Testing;

namespace Pronto.Console.Tests;

/// <summary>
/// A real server (API keys, the admin API on) over the bundled fraud, minilm and resnet18 and a generated tiny decoder,
/// a job with one run in its history, and Debian's headless Chromium driven by Playwright. Each test opens its own page.
/// </summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    public const string ApiKey = "user-key";
    public const string AdminKey = "admin-key";

    public static readonly DateTimeOffset RunStarted = new(2026, 12, 1, 2, 0, 0, TimeSpan.Zero);

    private IPlaywright _playwright = null!;

    public string Root { get; } = Directory.CreateTempSubdirectory("pronto-console-").FullName;

    public ProntoServer Server { get; private set; } = null!;

    public InferenceService Service { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Screenshots of the pages, kept as test artifacts (bin/.../console-screenshots).</summary>
    public string Screenshots { get; } = Path.Combine(AppContext.BaseDirectory, "console-screenshots");

    public async Task InitializeAsync()
    {
        var zoo = ZooPaths.DefaultRepository();
        BundledRepository.Ensure(zoo);
        foreach (var name in BundledRepository.ModelNames)
        {
            Directory.CreateSymbolicLink(Path.Combine(Root, name), Path.Combine(zoo, name));
        }

        TinyDecoder.Write(Root, "tiny");

        // One finished run in the history the server reads at start (the job itself fires once a year).
        var state = Path.Combine(Root, ".state");
        Directory.CreateDirectory(state);
        var run = new JobRun
        {
            Id = "nightly@20261201T020000Z", Job = "nightly", Scheduled = RunStarted, Status = JobStatus.Succeeded,
            Started = RunStarted, Ended = RunStarted.AddSeconds(42), Output = "/data/scores-20261201.parquet", Rows = 125_000, CostCpuSeconds = 12.5,
        };
        await File.WriteAllTextAsync(Path.Combine(state, JobStore.FileName), JsonSerializer.Serialize(run) + "\n");

        Server = ProntoServer.Create([], options =>
        {
            options.HttpPort = 0;
            options.GrpcPort = 0;
            options.ModelRepository = Root;
            options.StateDirectory = state;
            options.ApiKeys.Add(ApiKey);
            options.AdminKeys.Add(AdminKey);
            options.EnableRepositoryApi = true;
            options.Jobs.Add(new ScheduledJobOptions
            {
                Name = "nightly", Cron = "0 2 1 1 *", TimeZone = "UTC", Model = "fraud",
                Input = "/data/transactions.parquet", Output = "/data/scores-{time}.parquet",
            });
        });
        await Server.StartAsync();
        await Server.ModelsLoaded;
        Service = new InferenceService(Server.Repository);

        Directory.CreateDirectory(Screenshots);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        });
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
        await Server.StopAsync();
        await Server.DisposeAsync();
        Directory.Delete(Root, recursive: true);
    }

    /// <summary>
    /// A fresh page at the console's <paramref name="hash"/> with sampling paused (?poll=0), the keys typed in when
    /// given, and settled (window.pronto.idle(): every fetch and render the page started has finished).
    /// </summary>
    public async Task<IPage> OpenAsync(string hash = "", string? apiKey = ApiKey, string? adminKey = null)
    {
        var page = await Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 900 } });
        await page.GotoAsync(new Uri(Server.HttpUri, "/?poll=0" + hash).ToString());
        await SettleAsync(page);
        if (apiKey is not null || adminKey is not null)
        {
            await page.ClickAsync("#keys summary");
            await page.FillAsync("#api-key", apiKey ?? "");
            await page.FillAsync("#admin-key", adminKey ?? "");
            await page.ClickAsync("#keys-form button[type=submit]");
            await SettleAsync(page);
        }

        return page;
    }

    /// <summary>Waits for the page's own signal that it has settled (no timers, no polling of the DOM).</summary>
    public static Task SettleAsync(IPage page) => page.EvaluateAsync("() => window.pronto.idle()");

    public Task ShotAsync(IPage page, string name) => page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, name + ".png"), FullPage = true });
}

[CollectionDefinition(Name)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleFixture>
{
    public const string Name = "console";
}
