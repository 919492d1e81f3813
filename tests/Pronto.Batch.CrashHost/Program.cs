using Pronto.Batch.CrashHost;
using Pronto.Cli;

// `pronto ARGS...` with CrashPoints.FromEnvironment() as every batch job's commit hook.
return await ProntoCli.RunAsync(new CliContext(Console.Out, Console.Error) { BatchCommitHook = CrashPoints.FromEnvironment().At }, args);
