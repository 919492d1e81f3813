using System.Diagnostics;
using Pronto.Testing;
using static Pronto.Batch.Tests.BatchTestData;

namespace Pronto.Batch.Tests;

/// <summary>
/// deploy/kubernetes/batch on loopback: the Indexed Job's container args, one child <c>pronto</c> process per
/// completion index running at once over a shared folder, then the merge Job's args: the merged file holds exactly
/// the rows, columns and values of one process scoring the whole input into one file.
/// </summary>
[Collection(BundledCollection.Name)]
public sealed class KubernetesJobTests(BatchRepositoryFixture fixture)
{
    [Fact]
    public async Task The_indexed_job_as_concurrent_processes_then_the_merge_job_equal_one_process()
    {
        var dir = Temp();
        var data = Path.Combine(dir, "data") + "/";
        Directory.CreateDirectory(Path.Combine(data, "input"));
        var rows = Transactions(1300, seed: 33);
        WriteCsv(Path.Combine(data, "input", "a.csv"), rows[..700]);
        WriteCsv(Path.Combine(data, "input", "b.csv"), rows[700..]);

        var job = KubernetesManifests.Single("batch/score-job.yaml", "Job").GetProperty("spec");
        var shards = int.Parse(job.GetProperty("completions").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        var container = job.GetProperty("template").GetProperty("spec").GetProperty("containers")[0];

        // The manifest's args with the volume at a temporary folder; parts of 100 rows (the default, 100,000, would
        // put this small input in one part and so in one shard).
        var children = Enumerable.Range(0, shards).Select(i =>
        {
            var args = OnLoopback(KubernetesManifests.Args(container, new Dictionary<string, string> { ["SHARD"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) }), data);
            return RunChildAsync([.. args, "--part-rows", "100"]);
        }).ToArray();
        foreach (var (code, error) in await Task.WhenAll(children))
        {
            Assert.True(code == 0, error);
        }

        Assert.Equal(13, Directory.GetFiles(Path.Combine(data, "scored"), "part-*.parquet").Length);
        var merge = KubernetesManifests.Single("batch/merge-job.yaml", "Job").GetProperty("spec").GetProperty("template").GetProperty("spec").GetProperty("containers")[0];
        var merged = await CliAsync(fixture, OnLoopback(KubernetesManifests.Args(merge, new Dictionary<string, string>()), data));
        Assert.True(merged.Code == 0, merged.Error);

        var whole = await CliAsync(fixture, "batch", "fraud", "--input", Path.Combine(data, "input"), "--output", Path.Combine(dir, "whole.parquet"), "--part-rows", "100");
        Assert.True(whole.Code == 0, whole.Error);
        var expected = await ReadParquetAsync(Path.Combine(dir, "whole.parquet"));
        var actual = await ReadParquetAsync(Path.Combine(data, "scored.parquet"));
        Assert.Equal(expected.Columns.Select(c => c.Name), actual.Columns.Select(c => c.Name));
        Assert.Equal(1300, actual.Rows.Count);
        Assert.Equal(expected.Rows, actual.Rows);
    }

    private static string[] OnLoopback(string[] args, string data) => [.. args.Select(a => a.Replace("/data/", data, StringComparison.Ordinal))];

    private async Task<(int Code, string Error)> RunChildAsync(string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])[Path.Combine(AppContext.BaseDirectory, "pronto.dll"), "-r", fixture.Root, .. args])
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        await output;
        return (process.ExitCode, await error);
    }
}
