using System.CommandLine;
using Pronto.Cli.Commands;
using Pronto.Core.Errors;

namespace Pronto.Cli;

/// <summary>The <c>pronto</c> command line: builds the command tree and maps errors to exit codes once.</summary>
public static class ProntoCli
{
    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, TextReader? input = null) =>
        RunAsync(new CliContext(output, error, input), args);

    /// <summary>Runs <paramref name="args"/> in <paramref name="context"/> (a test host's, with its batch commit hook).</summary>
    internal static async Task<int> RunAsync(CliContext context, string[] args)
    {
        var (output, error) = (context.Output, context.Error);
        var parse = Root(context).Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors)
            {
                await error.WriteLineAsync($"error: {e.Message}");
            }

            await error.WriteLineAsync("Run 'pronto --help' for usage.");
            return ExitCodes.InvalidArgument;
        }

        var invocation = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        if (parse.CommandResult.Command.Name == ServeCommand.Name)
        {
            // System.CommandLine would take SIGTERM and Ctrl+C, cancel the action and, 2 s later, return 143 whatever
            // runs (the process then exits under in-flight requests). The server's host drains instead, up to its
            // ShutdownTimeout, and exits 0.
            invocation.ProcessTerminationTimeout = null;
        }

        try
        {
            return await parse.InvokeAsync(invocation);
        }
        catch (ProntoException e)
        {
            await error.WriteLineAsync($"error: {e.Message}");
            return ExitCodes.From(e.Code);
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync("cancelled");
            return ExitCodes.Internal;
        }
    }

    /// <summary>
    /// What is wrong with <paramref name="args"/> as a <c>pronto</c> command line (unknown commands or options,
    /// missing or malformed values), without running anything: empty when it parses. For checks of command lines
    /// written elsewhere, such as a container's args.
    /// </summary>
    public static IReadOnlyList<string> ParseErrors(string[] args) =>
        [.. Root(new CliContext(TextWriter.Null, TextWriter.Null)).Parse(args).Errors.Select(static e => e.Message)];

    private static RootCommand Root(CliContext context) => new("Pronto: real-time, batch, SQL and on-device inference for ONNX models.")
    {
        context.RepositoryOption,
        ModelsCommand.Create(context),
        PredictCommand.Create(context),
        GenerateCommand.Create(context),
        TrainCommand.Create(context),
        FinetuneCommand.Create(context),
        ServeCommand.Create(context),
        SqlCommand.Create(context),
        BatchCommand.Create(context),
        SampleCommand.Create(context),
    };
}
