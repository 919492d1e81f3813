using Pronto.Core.Generation;
using Pronto.Core.Repository;
using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.Cli.Tests;

/// <summary><c>pronto generate</c> on the tests' tiny decoder: the streamed text equals the engine's, a chat keeps its history, bad use exits with a message.</summary>
public sealed class GenerateCommandTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-generate-cli-").FullName;

    public GenerateCommandTests()
    {
        TinyDecoder.Write(_root, "tiny");
        TinyModels.WriteAddConstant(_root, "adder", 1f, 2);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private async Task<string> Reference(Func<GenerativeModel, int[]> prompt, SamplingParameters parameters)
    {
        using var repository = new ModelRepository(_root, [new OnnxBackend()]);
        repository.Load("tiny");
        using var lease = repository.Acquire("tiny");
        var model = lease.Model.Generative!;
        var text = new System.Text.StringBuilder();
        await foreach (var chunk in model.Engine.Generate(prompt(model), parameters, CancellationToken.None))
        {
            text.Append(chunk.Text);
        }

        return text.ToString();
    }

    [Fact]
    public async Task A_prompt_streams_the_engine_s_completion()
    {
        var expected = await Reference(m => m.Tokenizer.Encode("the cat"), new SamplingParameters { Temperature = 0, MaxTokens = 8 });
        var (code, output, error) = await CliRunner.RunAsync("generate", "tiny", "--prompt", "the cat", "--max-tokens", "8", "-r", _root);
        Assert.True(code == 0, error);
        Assert.Equal(expected + Environment.NewLine, output);

        var sampled = await Reference(m => m.Tokenizer.Encode("the cat"), new SamplingParameters { Temperature = 1f, Seed = 4, MaxTokens = 8 });
        (code, output, error) = await CliRunner.RunAsync("generate", "tiny", "-p", "the cat", "-n", "8", "-t", "1", "--seed", "4", "-r", _root);
        Assert.True(code == 0, error);
        Assert.Equal(sampled + Environment.NewLine, output);
    }

    [Fact]
    public async Task A_chat_answers_each_line_with_the_conversation_so_far_as_its_prompt()
    {
        var greedy = new SamplingParameters { Temperature = 0, MaxTokens = 6 };
        List<ChatMessage> messages = [new("system", "be brief"), new("user", "hello there")];
        var first = await Reference(m => m.Tokenizer.Encode(m.ChatTemplate.Render("tiny", messages)), greedy);
        messages.AddRange([new("assistant", first), new("user", "and you?")]);
        var second = await Reference(m => m.Tokenizer.Encode(m.ChatTemplate.Render("tiny", messages)), greedy);

        var (code, output, error) = await CliRunner.RunWithInputAsync("hello there\nand you?\n\n", "generate", "tiny", "--chat", "--system", "be brief", "-n", "6", "-r", _root);
        Assert.True(code == 0, error);
        var nl = Environment.NewLine;
        Assert.Equal($"> {first}{nl}> {second}{nl}> ", output);
    }

    [Theory]
    [InlineData(2, "model 'adder' is not a generative model", "generate", "adder", "--prompt", "x")]
    [InlineData(2, "--prompt is required", "generate", "tiny")]
    [InlineData(3, "ghost", "generate", "ghost", "--prompt", "x")]
    [InlineData(2, "'temperature' must be from 0 to 2, got 5", "generate", "tiny", "--prompt", "x", "-t", "5")]
    public async Task Bad_use_exits_non_zero_with_a_message(int exit, string message, params string[] args)
    {
        var (code, _, error) = await CliRunner.RunAsync([.. args, "-r", _root]);
        Assert.Equal(exit, code);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }
}
