using System.CommandLine;
using Pronto.Core.Inference;
using Pronto.Core.Repository;
using Pronto.Models;
using Pronto.Onnx;
using Spectre.Console;

namespace Pronto.Cli;

/// <summary>What one CLI invocation works with: its output writers and the model repository it opens.</summary>
internal sealed class CliContext(TextWriter output, TextWriter error, TextReader? input = null)
{
    public TextWriter Output { get; } = output;

    /// <summary>What interactive commands read (<c>pronto generate --chat</c>): standard input unless a test gives its own.</summary>
    public TextReader Input { get; } = input ?? System.Console.In;

    public TextWriter Error { get; } = error;

    /// <summary>
    /// Given to every <c>pronto batch</c> job's <see cref="Batch.BatchOptions.CommitHook"/>: null in the product; the
    /// resume tests' crash host (tests/Pronto.Batch.CrashHost) sets it to die at an exact commit point.
    /// </summary>
    public Action<Batch.BatchCommitStage, int>? BatchCommitHook { get; init; }

    /// <summary>The option every command that reads models shares (one instance per invocation).</summary>
    public Option<string?> RepositoryOption { get; } = new("--model-repository", "-r")
    {
        Description = "Model repository folder (Triton layout). Default: $PRONTO_MODEL_REPOSITORY, else the bundled repository, prepared on first use.",
        Recursive = true,
    };

    /// <summary>Spectre rendering onto <see cref="Output"/>, plain when it is not a terminal (tests, pipes).</summary>
    public IAnsiConsole Console { get; } = CreateConsole(output);

    private static IAnsiConsole CreateConsole(TextWriter output)
    {
        var terminal = ReferenceEquals(output, System.Console.Out) && !System.Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        if (!terminal)
        {
            // Pipes and files have no width; 80 columns would wrap every table row.
            console.Profile.Width = 400;
        }

        return console;
    }

    /// <summary>The bundled repository's folder, its models prepared first (trained or fetched) when missing.</summary>
    public string OpenBundledRepositoryFolder()
    {
        var root = ZooPaths.DefaultRepository();
        BundledRepository.Ensure(root, message => Error.WriteLine(message));
        return root;
    }

    /// <summary>
    /// Opens the repository at <paramref name="path"/>, or the bundled default one (prepared on first use)
    /// when no path is given. Models are not loaded yet.
    /// </summary>
    public ModelRepository OpenRepository(string? path, OnnxBackendOptions? onnx = null)
    {
        var root = path ?? OpenBundledRepositoryFolder();
        if (path is not null && !Directory.Exists(root))
        {
            throw new Core.Errors.ProntoException(Core.Errors.ErrorCode.NotFound, $"model repository '{root}' does not exist");
        }

        return new ModelRepository(root, [new OnnxBackend(onnx ?? new OnnxBackendOptions())]);
    }

    public static InferenceService Service(ModelRepository repository) => new(repository);
}
