using System.Text;
using System.Text.Json;

namespace Pronto.Server.Jobs;

/// <summary>
/// The durable history of scheduled runs: <c>jobs.jsonl</c> under the state folder, one JSON line per change of a
/// run, appended and flushed to disk before the change counts. The last line of an id is that run's state; a torn
/// last line (a crash mid-append) is ignored.
/// </summary>
public sealed class JobStore
{
    public const string FileName = "jobs.jsonl";

    private readonly Lock _lock = new();
    private readonly Dictionary<string, JobRun> _runs = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private readonly string _folder;

    public JobStore(string folder)
    {
        _folder = folder;
        Path = System.IO.Path.Combine(folder, FileName);
        if (!File.Exists(Path))
        {
            return;
        }

        foreach (var line in File.ReadLines(Path))
        {
            JobRun? run;
            try
            {
                run = JsonSerializer.Deserialize(line, JobJsonContext.Run);
            }
            catch (JsonException)
            {
                continue;
            }

            if (run is not null)
            {
                Remember(run);
            }
        }
    }

    public string Path { get; }

    /// <summary>Records a run's new state: appended and flushed to disk before it returns.</summary>
    public void Record(JobRun run)
    {
        var bytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(run, JobJsonContext.Run) + "\n");
        lock (_lock)
        {
            // Created on the first run, so a server without jobs leaves no state folder behind.
            Directory.CreateDirectory(_folder);
            using (var stream = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            Remember(run);
        }
    }

    /// <summary>True when a run of that id is recorded.</summary>
    public bool Contains(string id)
    {
        lock (_lock)
        {
            return _runs.ContainsKey(id);
        }
    }

    /// <summary>The runs of <paramref name="job"/>, newest first.</summary>
    public IReadOnlyList<JobRun> RunsOf(string job)
    {
        lock (_lock)
        {
            return [.. _order.Select(id => _runs[id]).Where(r => r.Job == job).Reverse()];
        }
    }

    private void Remember(JobRun run)
    {
        if (_runs.TryAdd(run.Id, run))
        {
            _order.Add(run.Id);
        }
        else
        {
            _runs[run.Id] = run;
        }
    }
}
