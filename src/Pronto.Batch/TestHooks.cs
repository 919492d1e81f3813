using System.Diagnostics;

namespace Pronto.Batch;

/// <summary>
/// Crash points for the resume tests: <c>PRONTO_BATCH_TEST_KILL=stage:n</c> kills this process with SIGKILL
/// (no finally blocks, no flushing) at <c>stage</c> of the n-th part it commits. Stages: <c>before-rename</c>
/// (part written to its temporary name), <c>before-checkpoint</c> (part renamed, not yet recorded),
/// <c>after-checkpoint</c> (recorded). Unset in production; reading it costs one lookup per job.
/// </summary>
internal sealed class TestHooks
{
    public const string Variable = "PRONTO_BATCH_TEST_KILL";

    private readonly string? _stage;
    private readonly int _part;

    private TestHooks(string? stage, int part)
    {
        _stage = stage;
        _part = part;
    }

    public static TestHooks FromEnvironment()
    {
        var value = Environment.GetEnvironmentVariable(Variable);
        var colon = value?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        return colon > 0 && int.TryParse(value.AsSpan(colon + 1), out var n) ? new TestHooks(value![..colon], n) : new TestHooks(null, 0);
    }

    public void At(string stage, int partsCommittedThisRun)
    {
        if (_stage == stage && _part == partsCommittedThisRun)
        {
            Process.GetCurrentProcess().Kill();
            Thread.Sleep(Timeout.Infinite);
        }
    }
}
