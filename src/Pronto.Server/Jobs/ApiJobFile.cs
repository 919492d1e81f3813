using System.Text.Json;
using System.Text.Json.Serialization;
using Pronto.Batch;

namespace Pronto.Server.Jobs;

/// <summary>
/// The jobs added through the admin API (<c>POST /v2/jobs</c>): <c>jobs-api.json</c> under the state folder, a JSON array
/// of jobs as the API took them, rewritten whole on each change (temp file, fsync, rename, fsync of the folder), so a
/// crash leaves the old list or the new one. Loaded at start beside the settings' jobs.
/// </summary>
public sealed class ApiJobFile(string folder)
{
    public const string FileName = "jobs-api.json";

    /// <summary>The API's JSON: camelCase as in the settings, unknown properties refused (a typo is a 400, not a dropped setting).</summary>
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
        TypeInfoResolver = JobJsonContext.Default,
    };

    public string Path { get; } = System.IO.Path.Combine(folder, FileName);

    /// <summary>The saved jobs, each validated; a file that cannot be read or a job that no longer validates stops start-up naming the file.</summary>
    public List<ScheduledJobOptions> Load()
    {
        if (!File.Exists(Path))
        {
            return [];
        }

        List<ScheduledJobOptions> jobs;
        try
        {
            jobs = JsonSerializer.Deserialize(File.ReadAllBytes(Path), JobJsonContext.Info<List<ScheduledJobOptions>>(Json)) ?? [];
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"{Path} is not a JSON array of jobs: {e.Message}", e);
        }

        foreach (var job in jobs)
        {
            job.Validate($"{Path}: job '{job.Name}'");
        }

        return jobs;
    }

    /// <summary>Replaces the file with <paramref name="jobs"/>, durably, before the caller changes the schedule.</summary>
    public void Save(IEnumerable<ScheduledJobOptions> jobs)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        AtomicFile.Write(Path, JsonSerializer.SerializeToUtf8Bytes(jobs.ToList(), JobJsonContext.Info<List<ScheduledJobOptions>>(Json)));
    }
}
