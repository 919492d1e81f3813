using System.Text;
using System.Text.Json;
using Pronto.Core.Errors;

namespace Pronto.Batch;

/// <summary>
/// The job's progress, one JSON line per committed part, appended and flushed to disk after the part's files
/// were renamed into place: a part is committed if and only if its line is here. The first line names the job
/// (model, input files and sizes, mapping, part size, shard, output), so <c>--resume</c> never continues a
/// different job. A line torn by a crash is not a commit; the file is rewritten without it on resume.
/// </summary>
internal sealed class Checkpoint
{
    private readonly string _path;
    private readonly Dictionary<long, PartEntry> _parts = [];

    private Checkpoint(string path, string job)
    {
        _path = path;
        Job = job;
    }

    public string Job { get; }

    public IReadOnlyDictionary<long, PartEntry> Parts => _parts;

    public bool Complete { get; private set; }

    public static bool Exists(string path) => File.Exists(path);

    public static Checkpoint Create(string path, string job)
    {
        var checkpoint = new Checkpoint(path, job);
        checkpoint.Rewrite();
        return checkpoint;
    }

    public static Checkpoint Load(string path, string job)
    {
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0] != job)
        {
            ProntoErrors.InvalidArgument($"--resume: '{path}' was written by a different job (model, input, mapping, part size, shard or output differ); start it with the same command, or remove the output");
        }

        var checkpoint = new Checkpoint(path, job);
        var torn = false;
        for (var i = 1; i < lines.Length; i++)
        {
            try
            {
                using var doc = JsonDocument.Parse(lines[i]);
                var root = doc.RootElement;
                if (root.TryGetProperty("complete", out _))
                {
                    checkpoint.Complete = true;
                    continue;
                }

                var entry = new PartEntry(root.GetProperty("part").GetInt64(), root.GetProperty("rows").GetInt64(), root.GetProperty("written").GetInt64(), root.GetProperty("errors").GetInt64());
                checkpoint._parts[entry.Part] = entry;
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                torn = true;
            }
        }

        if (torn)
        {
            checkpoint.Rewrite();
        }

        return checkpoint;
    }

    public void Commit(PartEntry entry)
    {
        _parts[entry.Part] = entry;
        Append($"{{\"part\":{entry.Part},\"rows\":{entry.Rows},\"written\":{entry.Written},\"errors\":{entry.Errors}}}");
    }

    public void MarkComplete()
    {
        Complete = true;
        Append("{\"complete\":true}");
    }

    private void Append(string line)
    {
        using var stream = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read);
        stream.Write(Encoding.UTF8.GetBytes(line + "\n"));
        stream.Flush(flushToDisk: true);
    }

    private void Rewrite()
    {
        var text = new StringBuilder(Job).Append('\n');
        foreach (var entry in _parts.Values.OrderBy(p => p.Part))
        {
            text.Append($"{{\"part\":{entry.Part},\"rows\":{entry.Rows},\"written\":{entry.Written},\"errors\":{entry.Errors}}}\n");
        }

        if (Complete)
        {
            text.Append("{\"complete\":true}\n");
        }

        AtomicFile.Write(_path, Encoding.UTF8.GetBytes(text.ToString()));
    }
}

/// <summary>A committed part: its index, its input rows, the rows written to its file and the failed rows.</summary>
internal readonly record struct PartEntry(long Part, long Rows, long Written, long Errors);
