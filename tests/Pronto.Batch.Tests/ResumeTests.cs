using System.Diagnostics;
using Pronto.Batch.CrashHost;
using Pronto.Testing;
using static Pronto.Batch.Tests.BatchTestData;

namespace Pronto.Batch.Tests;

/// <summary>
/// Exactly-once resume: the pronto command line is started as a child process (tests/Pronto.Batch.CrashHost: pronto with
/// <see cref="CrashPoints"/> as its batch commit hook) and really killed (SIGKILL, by
/// itself at a commit stage or by the test at an arbitrary moment); <c>--resume</c> then finishes and the output
/// must equal an uninterrupted run's, byte for byte.
/// </summary>
[Collection(BundledCollection.Name)]
public sealed class ResumeTests(BatchRepositoryFixture fixture)
{
    private const int KilledExitCode = 137;

    [Theory]
    [InlineData("before-rename:1", "out.jsonl")]
    [InlineData("before-checkpoint:2", "out.jsonl")]
    [InlineData("after-checkpoint:3", "out.parquet")]
    [InlineData("before-checkpoint:4", "parts")]
    public async Task Killed_at_a_commit_stage_then_resumed_equals_an_uninterrupted_run(string kill, string output)
    {
        var dir = Temp();
        var input = WriteInputWithBadRows(dir, 3000);
        string[] job = ["batch", "fraud", "--input", input, "--part-rows", "500", .. (output == "parts" ? new[] { "--format", "jsonl" } : [])];
        var reference = await CliAsync(fixture, [.. job, "--output", Path.Combine(dir, "reference-" + output)]);
        Assert.True(reference.Code == 0, reference.Error);

        await KillResumeAndCompareAsync(dir, job, kill, output);
    }

    [Theory]
    [InlineData("after-checkpoint:2", "out.parquet")]
    [InlineData("before-rename:3", "out.parquet")]
    [InlineData("before-checkpoint:2", "parts")]
    public async Task Parquet_input_killed_at_a_commit_stage_then_resumed_equals_an_uninterrupted_run(string kill, string output)
    {
        var dir = Temp();
        var input = Path.Combine(dir, "in.parquet");
        await PipelineTests.WriteMixedParquetAsync(input, 3000, 700);
        string[] job = ["batch", "fraud", "--input", input, "--part-rows", "500"];
        var reference = await BatchJob.RunAsync(fixture.Service, new BatchOptions { Model = "fraud", Input = input, Output = Path.Combine(dir, "reference-" + output), PartRows = 500 });
        Assert.Equal(3000, reference.Rows);

        await KillResumeAndCompareAsync(dir, job, kill, output);
    }

    /// <summary>Runs the job in a child that dies at the <paramref name="kill"/> hook, resumes it, and compares with reference-OUTPUT.</summary>
    private async Task KillResumeAndCompareAsync(string dir, string[] job, string kill, string output)
    {
        var target = Path.Combine(dir, output);
        using (var child = StartChild([.. job, "--output", target], (CrashPoints.KillVariable, kill)))
        {
            await child.Process.WaitForExitAsync();
            Assert.Equal(KilledExitCode, child.Process.ExitCode);
        }

        Assert.False(File.Exists(target) && output != "parts");
        var resumed = await CliAsync(fixture, [.. job, "--output", target, "--resume"]);
        Assert.True(resumed.Code == 0, resumed.Error);
        AssertSameOutput(Path.Combine(dir, "reference-" + output), target);
    }

    [Theory]
    [InlineData("csv")]
    [InlineData("parquet")]
    public async Task Killed_from_outside_mid_job_then_resumed_equals_an_uninterrupted_run(string format)
    {
        var dir = Temp();
        var input = WriteInputWithBadRows(dir, 40_000);
        if (format == "parquet")
        {
            input = Path.Combine(dir, "in.parquet");
            await PipelineTests.WriteMixedParquetAsync(input, 40_000, 16_384);
        }

        string[] job = ["batch", "fraud", "--input", input, "--part-rows", "2000"];
        var reference = await CliAsync(fixture, [.. job, "--output", Path.Combine(dir, "reference.parquet")]);
        Assert.True(reference.Code == 0, reference.Error);

        var target = Path.Combine(dir, "out.parquet");
        var checkpoint = Path.Combine(target + ".parts", "_checkpoint.jsonl");
        using (var child = StartChild([.. job, "--output", target], hook: (CrashPoints.PauseVariable, "after-checkpoint:4")))
        {
            // The child's writer stops after its 4th commit and says so; its reader and scorers run on. The kill
            // comes from outside at that known commit count, whatever the other threads are doing at that instant.
            Assert.Equal(CrashPoints.PausedLine + "after-checkpoint:4", await child.Paused);
            child.Process.Kill();
            await child.Process.WaitForExitAsync();
            Assert.Equal(KilledExitCode, child.Process.ExitCode);
        }

        Assert.Equal(4, File.ReadAllLines(checkpoint).Count(l => l.StartsWith("{\"part\":", StringComparison.Ordinal) && l.EndsWith('}')));
        var resumed = await CliAsync(fixture, [.. job, "--output", target, "--resume"]);
        Assert.True(resumed.Code == 0, resumed.Error);
        Assert.Contains("+ 4 resumed", resumed.Output);
        AssertSameOutput(Path.Combine(dir, "reference.parquet"), target);
    }

    /// <summary>
    /// A full disk while part 2 is written (the hook throws the IOException ENOSPC gives, errno 28, where the part's
    /// files are about to be made durable): a clear error and exit 4 instead of an unhandled exception (exit 134); parts
    /// 0 and 1 stay committed and --resume finishes with the bytes of an uninterrupted run.
    /// </summary>
    [Theory]
    [InlineData("out.parquet")]
    [InlineData("parts")]
    public async Task A_full_disk_stops_with_a_message_and_exit_4_then_resume_equals_an_uninterrupted_run(string output)
    {
        var dir = Temp();
        var input = WriteInputWithBadRows(dir, 3000);
        string[] job = ["batch", "fraud", "--input", input, "--part-rows", "500", .. (output == "parts" ? new[] { "--format", "jsonl" } : [])];
        var reference = await CliAsync(fixture, [.. job, "--output", Path.Combine(dir, "reference-" + output)]);
        Assert.True(reference.Code == 0, reference.Error);

        var target = Path.Combine(dir, output);
        var work = output == "parts" ? target : target + ".parts";
        var partName = output == "parts" ? "part-000002.jsonl" : "part-000002.parquet";
        using (var child = StartChild([.. job, "--output", target], (CrashPoints.DiskFullVariable, "before-rename:3")))
        {
            await child.Process.WaitForExitAsync();
            var errors = await child.Errors;
            Assert.True(child.Process.ExitCode == 4, $"exit code {child.Process.ExitCode}: {errors}");
            Assert.Equal(
                $"error: no space left on device while writing part 2 ({partName}): No space left on device; committed parts are kept: free space, then run the job again with --resume",
                Assert.Single(errors.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error:", StringComparison.Ordinal)));
        }

        Assert.Equal(2, File.ReadAllLines(Path.Combine(work, "_checkpoint.jsonl")).Count(l => l.StartsWith("{\"part\":", StringComparison.Ordinal)));
        Assert.True(File.Exists(Path.Combine(work, partName.Replace("000002", "000000", StringComparison.Ordinal))));
        Assert.True(File.Exists(Path.Combine(work, partName.Replace("000002", "000001", StringComparison.Ordinal))));
        Assert.False(File.Exists(Path.Combine(work, partName)));

        var resumed = await CliAsync(fixture, [.. job, "--output", target, "--resume"]);
        Assert.True(resumed.Code == 0, resumed.Error);
        Assert.Contains("+ 2 resumed", resumed.Output);
        AssertSameOutput(Path.Combine(dir, "reference-" + output), target);
    }

    private static string WriteInputWithBadRows(string dir, int count)
    {
        var path = Path.Combine(dir, "in.csv");
        WriteCsv(path, Transactions(count, seed: 9));
        var lines = File.ReadAllLines(path);
        for (var i = 1; i < lines.Length; i += 997)
        {
            lines[i] = lines[i].Replace(",", ",x", StringComparison.Ordinal);
        }

        File.WriteAllLines(path, lines);
        return path;
    }

    private static void AssertSameOutput(string expected, string actual)
    {
        if (Directory.Exists(expected))
        {
            var names = Directory.GetFiles(expected).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(names, Directory.GetFiles(actual).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray());
            foreach (var name in names.Where(n => !n!.StartsWith('_')))
            {
                Assert.Equal(File.ReadAllBytes(Path.Combine(expected, name!)), File.ReadAllBytes(Path.Combine(actual, name!)));
            }

            return;
        }

        Assert.Equal(File.ReadAllBytes(expected), File.ReadAllBytes(actual));
        Assert.Equal(File.ReadAllBytes(expected + ".errors.jsonl"), File.ReadAllBytes(actual + ".errors.jsonl"));
        Assert.False(Directory.Exists(actual + ".parts"));
    }

    private Child StartChild(string[] args, (string Variable, string Value)? hook)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Pronto.Batch.CrashHost.dll"));
        start.ArgumentList.Add("-r");
        start.ArgumentList.Add(fixture.Root);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        if (hook is { } h)
        {
            start.Environment[h.Variable] = h.Value;
        }

        return new Child(Process.Start(start)!);
    }

    /// <summary>
    /// A child <c>pronto</c> whose pipes are drained (so it never blocks on a full one); <see cref="Paused"/> completes
    /// with the test hook's line when its writer pauses, or with null when it exits without pausing; <see cref="Errors"/>
    /// with all it wrote to standard error, when that ends.
    /// </summary>
    private sealed class Child : IDisposable
    {
        private readonly TaskCompletionSource<string?> _paused = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource<string> _errors = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Child(Process process)
        {
            Process = process;
            _ = process.StandardOutput.ReadToEndAsync();
            _ = WatchErrorsAsync();
        }

        public Process Process { get; }

        public Task<string?> Paused => _paused.Task;

        public Task<string> Errors => _errors.Task;

        public void Dispose() => Process.Dispose();

        private async Task WatchErrorsAsync()
        {
            var all = new System.Text.StringBuilder();
            while (await Process.StandardError.ReadLineAsync() is { } line)
            {
                all.Append(line).Append('\n');
                if (line.StartsWith(CrashPoints.PausedLine, StringComparison.Ordinal))
                {
                    _paused.TrySetResult(line);
                }
            }

            _paused.TrySetResult(null);
            _errors.TrySetResult(all.ToString());
        }
    }
}
