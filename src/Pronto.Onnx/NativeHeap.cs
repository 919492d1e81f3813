using System.Runtime.InteropServices;

namespace Pronto.Onnx;

/// <summary>
/// Hands the C heap's free pages back to the system after a session is built and after one is released. ONNX Runtime allocates a
/// session's weights and its memory arena with malloc from whichever thread loads or runs it, so glibc spreads them
/// over its per-thread arenas; freed, they stay mapped, and repeated unload/load cycles grew the resident set by
/// about 200 MB over 60 minilm cycles (docs/reliability.md, reliability/reload-rss.sh). <c>malloc_trim(0)</c>
/// returns every arena's free pages. Other C libraries (musl, Windows) have no such call; there it does nothing.
/// </summary>
internal static partial class NativeHeap
{
    private static bool _unavailable = !OperatingSystem.IsLinux();

    public static void Trim()
    {
        if (_unavailable)
        {
            return;
        }

        try
        {
            MallocTrim(0);
        }
        catch (Exception error) when (error is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true;
        }
    }

    [LibraryImport("libc.so.6", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
