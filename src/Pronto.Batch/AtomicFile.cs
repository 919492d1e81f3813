namespace Pronto.Batch;

/// <summary>Write-then-rename: a reader (or a resumed job) sees the old file or the whole new one, never a torn one.</summary>
internal static class AtomicFile
{
    public static void Write(string path, ReadOnlySpan<byte> content)
    {
        var temp = TempOf(path);
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Flushes a finished file to disk (a new descriptor's fsync covers the file's data), then renames it.</summary>
    public static void Commit(string temp, string path)
    {
        using (var stream = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    /// <summary>The temporary name beside <paramref name="path"/>: hidden, so folder readers skip it.</summary>
    public static string TempOf(string path) => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "." + Path.GetFileName(path) + ".tmp");
}
