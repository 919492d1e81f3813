using Microsoft.Extensions.AI;
using Pronto.Core.Errors;
using Pronto.Core.Generation;
using Pronto.Testing;
using ChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Pronto.Library.Tests;

/// <summary>
/// The in-process <see cref="IChatClient"/> over a generated tiny decoder (TinyDecoder: random weights, a byte-level
/// tokenizer and a ChatML template): its answers are the generation engine's own for the rendered prompt.
/// </summary>
public sealed class ChatClientTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-chat-").FullName;

    public ChatClientTests()
    {
        TinyDecoder.Write(_root, "tiny");
        TinyDecoder.Write(_root, "plain", chatTemplate: null);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task A_greedy_answer_is_the_engines_tokens_for_the_rendered_prompt()
    {
        using var pronto = ProntoRuntime.Open(_root);
        using var chat = pronto.GetChatClient("tiny");
        ChatMessage[] messages = [new(ChatRole.System, "be brief"), new(ChatRole.User, "hello there")];
        var response = await chat.GetResponseAsync(messages, new ChatOptions { Temperature = 0, MaxOutputTokens = 12 });

        using var lease = pronto.Repository.Acquire("tiny");
        var model = lease.Model.Generative!;
        var prompt = model.Tokenizer.Encode("<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhello there<|im_end|>\n<|im_start|>assistant\n");
        var expected = new System.Text.StringBuilder();
        var tokens = 0;
        FinishReason? finish = null;
        await foreach (var chunk in model.Engine.Generate(prompt, new SamplingParameters { Temperature = 0, MaxTokens = 12 }, CancellationToken.None))
        {
            expected.Append(chunk.Text);
            tokens++;
            finish = chunk.Finish ?? finish;
        }

        Assert.Equal(expected.ToString(), response.Text);
        Assert.Equal(ChatRole.Assistant, response.Messages.Single().Role);
        Assert.Equal(finish == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(prompt.Length, response.Usage!.InputTokenCount);
        Assert.Equal(tokens, response.Usage.OutputTokenCount);
        Assert.Equal(prompt.Length + tokens, response.Usage.TotalTokenCount);
        Assert.Equal("tiny", response.ModelId);
        Assert.StartsWith("chatcmpl-", response.ResponseId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Options_left_out_take_the_models_generation_config_as_the_server_does()
    {
        // A model whose generation_config.json says greedy and 5 new tokens: an answer with no options is its greedy
        // 5 tokens; options given win over the model's.
        var version = TinyDecoder.Write(_root, "configured");
        File.WriteAllText(Path.Combine(version, "generation_config.json"), "{\"do_sample\": false, \"max_new_tokens\": 5}");
        using var pronto = ProntoRuntime.Open(_root);
        using var chat = pronto.GetChatClient("configured");
        ChatMessage[] messages = [new(ChatRole.User, "hello there")];
        var plain = await chat.GetResponseAsync(messages);
        var greedy = await chat.GetResponseAsync(messages, new ChatOptions { Temperature = 0, MaxOutputTokens = 5 });
        Assert.Equal(5, plain.Usage!.OutputTokenCount);
        Assert.Equal(greedy.Text, plain.Text);
        var longer = await chat.GetResponseAsync(messages, new ChatOptions { MaxOutputTokens = 9, Temperature = 1, Seed = 3 });
        Assert.Equal(9, longer.Usage!.OutputTokenCount);
        var seeded = await chat.GetResponseAsync(messages, new ChatOptions { MaxOutputTokens = 9, Temperature = 1, Seed = 3 });
        Assert.Equal(seeded.Text, longer.Text);
    }

    [Fact]
    public async Task A_seeded_stream_concatenates_to_the_same_seeded_answer()
    {
        using var pronto = ProntoRuntime.Open(_root);
        using var chat = pronto.GetChatClient("tiny");
        var options = new ChatOptions { Seed = 42, MaxOutputTokens = 20, TopK = 50 };
        ChatMessage[] messages = [new(ChatRole.User, "tell me a story")];
        var whole = await chat.GetResponseAsync(messages, options);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in chat.GetStreamingResponseAsync(messages, options))
        {
            updates.Add(update);
        }

        Assert.Equal(whole.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(whole.FinishReason, updates[^1].FinishReason);
        Assert.All(updates[..^1], u => Assert.Null(u.FinishReason));
        Assert.Equal(whole.Usage!.OutputTokenCount, updates[^1].Contents.OfType<UsageContent>().Single().Details.OutputTokenCount);
        Assert.Equal(whole.FinishReason == ChatFinishReason.Length, whole.Usage.OutputTokenCount == 20);
        Assert.Equal(whole.Text, (await chat.GetResponseAsync(messages, options)).Text);
    }

    [Fact]
    public void Models_that_cannot_chat_are_clear_errors()
    {
        using var pronto = ProntoRuntime.Open(_root);
        var plain = Assert.Throws<ProntoException>(() => pronto.GetChatClient("plain"));
        Assert.Equal(ErrorCode.InvalidArgument, plain.Code);
        Assert.Equal("model 'plain' cannot chat: it has no chat template (tokenizer_config.json has no chat_template string); use /v1/completions", plain.Message);
    }

    [Fact]
    public async Task A_prompt_longer_than_the_context_is_a_clear_error_that_runs_nothing()
    {
        using var pronto = ProntoRuntime.Open(_root);
        using var chat = pronto.GetChatClient("tiny");
        var e = await Assert.ThrowsAsync<ProntoException>(() => chat.GetResponseAsync([new(ChatRole.User, "hi")], new ChatOptions { MaxOutputTokens = TinyDecoder.ContextLength }));
        Assert.Equal(ErrorCode.InvalidArgument, e.Code);
        Assert.Matches(@"^model 'tiny' reads 96 tokens at most; this request asks for \d+ \(\d+ in the prompt, 96 to generate\): shorten the prompt or lower max_tokens$", e.Message);
        using var lease = pronto.Repository.Acquire("tiny");
        Assert.Equal(0, lease.Model.Generative!.Engine.Steps);
    }
}
