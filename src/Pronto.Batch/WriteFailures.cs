using Pronto.Core.Errors;

namespace Pronto.Batch;

/// <summary>
/// An I/O failure while writing output, as the job's error: what it was writing and what to do. A full disk (or quota)
/// is Unavailable (exit 4: free space, then --resume); any other I/O error Internal (exit 1). Committed parts stay.
/// </summary>
internal static class WriteFailures
{
    /// <summary>Linux's errno for "no space left on device"; .NET puts the errno in IOException.HResult on Unix.</summary>
    public const int Enospc = 28;

    private const int Edquot = 122;
    private const int WindowsDiskFull = unchecked((int)0x80070070);
    private const int WindowsHandleDiskFull = unchecked((int)0x80070027);

    public static bool IsDiskFull(IOException e) => e.HResult is Enospc or Edquot or WindowsDiskFull or WindowsHandleDiskFull;

    public static ProntoException From(IOException e, string writing) => IsDiskFull(e)
        ? new ProntoException(ErrorCode.Unavailable, $"no space left on device while writing {writing}: {e.Message}; committed parts are kept: free space, then run the job again with --resume", e)
        : new ProntoException(ErrorCode.Internal, $"I/O error while writing {writing}: {e.Message}; committed parts are kept: run the job again with --resume", e);
}
