using System.Diagnostics;

namespace Pronto.Batch.CrashHost;

/// <summary>
/// Crash points for the resume tests: <c>PRONTO_BATCH_TEST_KILL=stage:n</c> kills this process with SIGKILL
/// (no finally blocks, no flushing) at <c>stage</c> of the n-th part it commits. Stages: <c>before-rename</c>
/// (part written to its temporary name), <c>before-checkpoint</c> (part renamed, not yet recorded),
/// <c>after-checkpoint</c> (recorded). <c>PRONTO_BATCH_TEST_PAUSE=stage:n</c> instead stops the writer there for
/// good, after printing <see cref="PausedLine"/> to standard error, while the reader and scorers go on until their
/// channels fill: the test kills the process from outside at a known commit count, whatever its other threads do.
/// <c>PRONTO_BATCH_TEST_DISK_FULL=stage:n</c> throws there the IOException a full disk gives (errno ENOSPC), for the
/// disk-full tests without a full disk. Stages are <see cref="BatchCommitStage"/> in kebab case. This is test code:
/// the product only has <see cref="BatchOptions.CommitHook"/>, which this host fills.
/// </summary>
public sealed class CrashPoints
{
    public const string KillVariable = "PRONTO_BATCH_TEST_KILL";

    public const string PauseVariable = "PRONTO_BATCH_TEST_PAUSE";

    public const string DiskFullVariable = "PRONTO_BATCH_TEST_DISK_FULL";

    /// <summary>What a paused writer prints (then its stage and part) on a line of its own.</summary>
    public const string PausedLine = "pronto-test-hook: paused at ";

    private readonly Point _kill;
    private readonly Point _pause;
    private readonly Point _diskFull;

    private CrashPoints(Point kill, Point pause, Point diskFull)
    {
        _kill = kill;
        _pause = pause;
        _diskFull = diskFull;
    }

    public static CrashPoints FromEnvironment() => new(
        Point.Parse(Environment.GetEnvironmentVariable(KillVariable)),
        Point.Parse(Environment.GetEnvironmentVariable(PauseVariable)),
        Point.Parse(Environment.GetEnvironmentVariable(DiskFullVariable)));

    /// <summary>The hook: acts when <paramref name="commit"/> and the part count match a point set in the environment.</summary>
    public void At(BatchCommitStage commit, int partsCommittedThisRun)
    {
        var stage = Name(commit);
        if (_kill.Is(stage, partsCommittedThisRun))
        {
            Process.GetCurrentProcess().Kill();
            Thread.Sleep(Timeout.Infinite);
        }

        if (_pause.Is(stage, partsCommittedThisRun))
        {
            Console.Error.WriteLine($"{PausedLine}{stage}:{partsCommittedThisRun}");
            Console.Error.Flush();
            Thread.Sleep(Timeout.Infinite);
        }

        if (_diskFull.Is(stage, partsCommittedThisRun))
        {
            // What .NET throws on Linux for ENOSPC: the errno as HResult.
            throw new IOException("No space left on device", Enospc);
        }
    }

    /// <summary>ENOSPC: what .NET puts in HResult on Linux for a full disk.</summary>
    private const int Enospc = 28;

    private static string Name(BatchCommitStage stage) => stage switch
    {
        BatchCommitStage.BeforeRename => "before-rename",
        BatchCommitStage.BeforeCheckpoint => "before-checkpoint",
        BatchCommitStage.AfterCheckpoint => "after-checkpoint",
        _ => throw new ArgumentOutOfRangeException(nameof(stage), stage, null),
    };

    private readonly record struct Point(string? Stage, int Part)
    {
        public static Point Parse(string? value)
        {
            var colon = value?.IndexOf(':', StringComparison.Ordinal) ?? -1;
            return colon > 0 && int.TryParse(value.AsSpan(colon + 1), out var n) ? new Point(value![..colon], n) : default;
        }

        public bool Is(string stage, int part) => Stage == stage && Part == part;
    }
}
