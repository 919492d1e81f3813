using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Models;
using Pronto.Onnx;
using Spectre.Console;

namespace Pronto.Cli;

/// <summary>What one CLI invocation works with: its output writers and the model repository it opens.</summary>
internal sealed class CliContext(TextWriter output, TextWriter error)
{
    public TextWriter Output { get; } = output;

    public TextWriter Error { get; } = error;

    /// <summary>Spectre rendering onto <see cref="Output"/>, plain when it is not a terminal (tests, pipes).</summary>
    public IAnsiConsole Console { get; } = AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(output),
        Ansi = ReferenceEquals(output, System.Console.Out) && !System.Console.IsOutputRedirected ? AnsiSupport.Detect : AnsiSupport.No,
        ColorSystem = ReferenceEquals(output, System.Console.Out) && !System.Console.IsOutputRedirected ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        Interactive = InteractionSupport.No,
    });

    /// <summary>
    /// Opens the repository at <paramref name="path"/>, or the bundled default one (prepared on first use)
    /// when no path is given. Models are not loaded yet.
    /// </summary>
    public ModelRepository OpenRepository(string? path)
    {
        var root = path ?? ZooPaths.DefaultRepository();
        if (path is null)
        {
            BundledRepository.Ensure(root, message => Error.WriteLine(message));
        }
        else if (!Directory.Exists(root))
        {
            throw new Core.Errors.ProntoException(Core.Errors.ErrorCode.NotFound, $"model repository '{root}' does not exist");
        }

        return new ModelRepository(root, [new OnnxBackend(new OnnxBackendOptions())]);
    }

    public static InferenceService Service(ModelRepository repository) => new(repository);
}
