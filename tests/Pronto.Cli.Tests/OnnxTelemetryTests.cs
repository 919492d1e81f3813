using System.Diagnostics;
using Pronto.Testing;

namespace Pronto.Cli.Tests;

/// <summary>
/// ONNX Runtime 1.29+ on Linux writes a device id and a telemetry cache under the user's cache folder and uploads
/// events to Microsoft unless <c>ORT_DISABLE_TELEMETRY</c> is set before its environment is created. A real
/// <c>pronto predict</c> child process with its own HOME shows Pronto opts out by default, and that a user who sets
/// the variable to 0 gets ONNX Runtime's own behaviour (which is what proves the check can fail).
/// </summary>
public sealed class OnnxTelemetryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-telemetry-").FullName;

    [Fact]
    public void Pronto_opts_out_of_onnx_runtime_telemetry_unless_the_user_sets_the_variable()
    {
        var repository = Path.Combine(_root, "models");
        TinyModels.WriteAddConstant(repository, "add", 1f, 2);
        var body = Path.Combine(_root, "request.json");
        File.WriteAllText(body, """{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1,2]}]}""");

        var quiet = Predict(repository, body, "quiet-home", userSetting: null);
        Assert.False(Directory.Exists(TelemetryFolder(quiet)), $"ONNX Runtime wrote {TelemetryFolder(quiet)} although Pronto opted out");

        var allowed = Predict(repository, body, "allowed-home", userSetting: "0");
        Assert.True(File.Exists(Path.Combine(TelemetryFolder(allowed), "deviceid")), "with ORT_DISABLE_TELEMETRY=0 ONNX Runtime keeps its default");
    }

    private static string TelemetryFolder(string home) => Path.Combine(home, ".cache", "Microsoft", "DeveloperTools", ".onnxruntime");

    /// <summary>Runs <c>pronto predict add</c> with a fresh HOME; returns that HOME once the prediction printed.</summary>
    private string Predict(string repository, string body, string homeName, string? userSetting)
    {
        var home = Directory.CreateDirectory(Path.Combine(_root, homeName)).FullName;
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "pronto.dll"), "-r", repository, "predict", "add", "--input", body, "--output", "json" })
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["HOME"] = home;
        start.Environment["XDG_CACHE_HOME"] = Path.Combine(home, ".cache");
        // ONNX Runtime also stays quiet on CI systems it recognises; the child must not inherit that from the test run.
        foreach (var ci in new[] { "CI", "GITHUB_ACTIONS", "GITLAB_CI", "TF_BUILD", "ORT_RUNNING_UNIT_TESTS", "ORT_DISABLE_TELEMETRY" })
        {
            start.Environment.Remove(ci);
        }

        if (userSetting is not null)
        {
            start.Environment["ORT_DISABLE_TELEMETRY"] = userSetting;
        }

        using var child = Process.Start(start)!;
        var stderr = child.StandardError.ReadToEndAsync();
        var output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        Assert.True(child.ExitCode == 0, $"exit {child.ExitCode}: {stderr.Result}");
        Assert.Contains("\"data\":[2,3]", output, StringComparison.Ordinal);
        return home;
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
