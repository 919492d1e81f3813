using System.Globalization;
using Pronto.Core.Errors;

namespace Pronto.Batch;

/// <summary>
/// Where a job's files go. A folder output (no .parquet / .jsonl extension) is the result itself: ordered
/// parts <c>part-000000.parquet</c>, ... named by global part index (so shards can share the folder and the
/// parts' name order is the input order), the checkpoint and the errors file. A file output is built in the
/// work folder <c>&lt;output&gt;.parts</c> and merged into the file at the end; the work folder is then removed.
/// </summary>
internal sealed class OutputLayout
{
    public OutputLayout(BatchOptions options)
    {
        Shard = options.Shard;
        var extension = Path.GetExtension(options.Output).ToLowerInvariant();
        IsFile = extension is ".parquet" or ".jsonl";
        Format = extension == ".jsonl" || (!IsFile && options.Format == "jsonl") ? "jsonl" : "parquet";
        if (IsFile && options.Format is { } f && f != Format)
        {
            ProntoErrors.InvalidArgument($"--format {f} disagrees with the output file '{options.Output}'");
        }

        if (IsFile && Shard.Count > 1)
        {
            ProntoErrors.InvalidArgument("--shard writes a folder of parts: give --output a folder (no .parquet or .jsonl extension), which the shards may share");
        }

        Output = Path.GetFullPath(options.Output);
        // Only the input folder's own files are read (not subfolders): a file output (and its errors file) there
        // would become input, a folder output below it would not.
        var inputFolder = Directory.Exists(options.Input) ? Path.TrimEndingDirectorySeparator(Path.GetFullPath(options.Input)) : null;
        if (inputFolder is not null && (IsFile ? Path.GetDirectoryName(Output) == inputFolder : Output == inputFolder))
        {
            ProntoErrors.InvalidArgument($"--output '{options.Output}' would write into the input folder '{options.Input}', whose files are the input; write it elsewhere or into a subfolder");
        }

        WorkFolder = IsFile ? Output + ".parts" : Output;
        ErrorsFile = IsFile ? Output + ".errors.jsonl" : Path.Combine(Output, $"errors{Shard.Suffix}.jsonl");
        CheckpointFile = Path.Combine(WorkFolder, $"_checkpoint{Shard.Suffix}.jsonl");
    }

    public bool IsFile { get; }

    /// <summary>parquet or jsonl.</summary>
    public string Format { get; }

    public string Output { get; }

    public string WorkFolder { get; }

    public string ErrorsFile { get; }

    public string CheckpointFile { get; }

    public Shard Shard { get; }

    public string PartFile(long part) => Path.Combine(WorkFolder, string.Create(CultureInfo.InvariantCulture, $"part-{part:D6}.{Format}"));

    public string PartErrorsFile(long part) => Path.Combine(WorkFolder, string.Create(CultureInfo.InvariantCulture, $"part-{part:D6}.errors.jsonl"));

    /// <summary>What this job would overwrite: a non-empty answer without --resume is refused.</summary>
    public string? ExistingOutput()
    {
        if (IsFile)
        {
            return File.Exists(Output) ? Output : Directory.Exists(WorkFolder) ? WorkFolder : File.Exists(ErrorsFile) ? ErrorsFile : null;
        }

        if (File.Exists(Output))
        {
            return Output;
        }

        if (!Directory.Exists(Output))
        {
            return null;
        }

        if (File.Exists(CheckpointFile))
        {
            return CheckpointFile;
        }

        if (File.Exists(ErrorsFile))
        {
            return ErrorsFile;
        }

        foreach (var file in Directory.EnumerateFiles(Output, "part-*"))
        {
            var name = Path.GetFileName(file);
            if (name.Length >= 11 && long.TryParse(name.AsSpan(5, 6), NumberStyles.None, CultureInfo.InvariantCulture, out var part) && Shard.Owns(part))
            {
                return file;
            }
        }

        return null;
    }
}
