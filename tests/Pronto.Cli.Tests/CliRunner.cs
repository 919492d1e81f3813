namespace Pronto.Cli.Tests;

/// <summary>Runs the <c>pronto</c> command in-process and captures what it prints.</summary>
internal static class CliRunner
{
    public static Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args) => RunWithInputAsync(null, args);

    /// <summary>Runs it with <paramref name="input"/> as standard input (interactive commands).</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunWithInputAsync(string? input, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var reader = new StringReader(input ?? string.Empty);
        var code = await ProntoCli.RunAsync(args, output, error, reader);
        return (code, output.ToString(), error.ToString());
    }
}
