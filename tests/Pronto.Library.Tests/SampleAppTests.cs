using System.Diagnostics;
using System.Globalization;
using Pronto.Testing;

namespace Pronto.Library.Tests;

/// <summary>
/// The packages outside the solution: scripts/pack into a fresh folder, samples/Pronto.Sample copied beside it with a
/// nuget.config naming only that folder and nuget.org, restored into its own packages folder, built and run.
/// Its output equals the facade's answers in this process, to the printed digit. About 60 s (pack, restore, build).
/// </summary>
public sealed class SampleAppTests(BundledRepositoryFixture bundled) : IClassFixture<BundledRepositoryFixture>
{
    [Fact]
    [Trait("Category", "Packages")]
    public async Task The_sample_app_runs_from_the_packed_nupkg_files()
    {
        var repo = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../.."));
        Assert.True(File.Exists(Path.Combine(repo, "scripts/pack")), repo);
        var work = Directory.CreateTempSubdirectory("pronto-sample-").FullName;
        try
        {
            var feed = Path.Combine(work, "feed");
            Run(repo, "bash", "scripts/pack", feed);
            var app = Path.Combine(work, "app");
            Directory.CreateDirectory(app);
            foreach (var file in new[] { "Program.cs", "Pronto.Sample.csproj", "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
            {
                File.Copy(Path.Combine(repo, "samples/Pronto.Sample", file), Path.Combine(app, file));
            }

            File.WriteAllText(Path.Combine(app, "nuget.config"), File.ReadAllText(Path.Combine(repo, "samples/Pronto.Sample/nuget.config"))
                .Replace("../../artifacts/packages", feed, StringComparison.Ordinal));
            var output = Run(app, "dotnet", "run", "-c", "Release", "--", bundled.Root);

            using var pronto = ProntoRuntime.Open(bundled.Root);
            var embedding = (await pronto.GetEmbeddingGenerator("minilm").GenerateAsync(["a cat sat on the mat"]))[0];
            var fraud = await pronto.GetClassifier("fraud").ClassifyAsync(new Dictionary<string, double>
            {
                ["amount"] = 950, ["customer_avg_amount"] = 40, ["merchant_category"] = 3, ["hour"] = 3, ["distance_km"] = 800, ["txn_last_hour"] = 6,
            });
            var expected = string.Create(CultureInfo.InvariantCulture, $"minilm: 384 dims, first {embedding.Vector.Span[0]:R}\nfraud: {fraud.Label} {fraud.Probability:R}\n");
            Assert.Equal(expected, output);
            Assert.False(Directory.Exists(Path.Combine(app, "packages/pronto.onnx/0.1.0/runtimes/win-x64")));
            Assert.True(File.Exists(Path.Combine(app, "packages/pronto.onnx/0.1.0/runtimes/linux-x64/native/libonnxruntime.so")));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static string Run(string directory, string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)} exited {process.ExitCode}: {stdout}\n{stderr.Result}");
        return stdout;
    }
}
