using System.Runtime.InteropServices;

namespace Pronto.Batch;

/// <summary>
/// Write-then-rename: a reader (or a resumed job) sees the old file or the whole new one, never a torn one. Also the
/// server's for its durable state (the jobs added through the admin API).
/// </summary>
public static partial class AtomicFile
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
        SyncFolder(path);
    }

    /// <summary>Flushes a finished file to disk (a new descriptor's fsync covers the file's data), then renames it.</summary>
    public static void Commit(string temp, string path)
    {
        using (var stream = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
        SyncFolder(path);
    }

    /// <summary>
    /// Makes a rename in <paramref name="path"/>'s folder durable (fsync of the folder, POSIX): without it a power
    /// loss could undo the rename while a later checkpoint line survived. Best effort; a no-op off Unix.
    /// </summary>
    public static void SyncFolder(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return;
        }

        var fd = Native.Open(Path.GetDirectoryName(Path.GetFullPath(path))!, 0);
        if (fd >= 0)
        {
            _ = Native.Fsync(fd);
            _ = Native.Close(fd);
        }
    }

    private static partial class Native
    {
        [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
        public static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "fsync")]
        public static partial int Fsync(int fd);

        [LibraryImport("libc", EntryPoint = "close")]
        public static partial int Close(int fd);
    }

    /// <summary>The temporary name beside <paramref name="path"/>: hidden, so folder readers skip it.</summary>
    public static string TempOf(string path) => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "." + Path.GetFileName(path) + ".tmp");
}
