using System.CommandLine;
using Pronto.Cli.Commands;
using Pronto.Core.Errors;

namespace Pronto.Cli;

/// <summary>The <c>pronto</c> command line: builds the command tree and maps errors to exit codes once.</summary>
public static class ProntoCli
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var context = new CliContext(output, error);
        var root = new RootCommand("Pronto: real-time, batch, SQL and on-device inference for ONNX models.")
        {
            context.RepositoryOption,
            ModelsCommand.Create(context),
            PredictCommand.Create(context),
            TrainCommand.Create(context),
            ServeCommand.Create(context),
            SqlCommand.Create(context),
            BatchCommand.Create(context),
            SampleCommand.Create(context),
        };

        var parse = root.Parse(args);
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
}
