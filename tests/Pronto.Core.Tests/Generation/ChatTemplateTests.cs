using Pronto.Core.Errors;
using Pronto.Core.Generation;
using Pronto.Core.Repository;
using Pronto.Models.Generative;
using Pronto.Onnx;
using Pronto.Testing;

namespace Pronto.Core.Tests.Generation;

/// <summary>
/// Chat templates through the ONNX backend: a model's own Jinja template rendered by ONNX Runtime GenAI (its special
/// tokens from tokenizer_config.json), ChatML by Pronto where no engine renders it, and templates that cannot run.
/// </summary>
public sealed class ChatTemplateTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-chat-template-").FullName;
    private readonly ModelRepository _repository;

    public ChatTemplateTests()
    {
        TinyDecoder.Write(_root, "llama", chatTemplate: TinyDecoder.LlamaStyleTemplate);
        TinyDecoder.Write(_root, "chatml");
        TinyDecoder.Write(_root, "broken", chatTemplate: "{% for message in messages %}{{ message['content'] }");
        _repository = new ModelRepository(_root, [new OnnxBackend()]);
        foreach (var name in new[] { "llama", "chatml", "broken" })
        {
            _repository.Load(name);
        }
    }

    public void Dispose()
    {
        _repository.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private ChatTemplate Template(string name)
    {
        using var lease = _repository.Acquire(name);
        return lease.Model.Generative!.ChatTemplate;
    }

    [Fact]
    public void A_model_s_own_jinja_template_renders_with_its_special_tokens()
    {
        var template = Template("llama");
        Assert.True(template.IsJinja);
        Assert.Null(template.Unsupported);
        var prompt = template.Render("llama", [new("system", "  Be brief.  "), new("user", "my card was declined "), new("assistant", "Sorry."), new("user", "again")]);
        Assert.Equal(
            "<|endoftext|><|im_start|>system\nBe brief.<|im_end|><|im_start|>user\nmy card was declined<|im_end|><|im_start|>assistant\nSorry.<|im_end|>"
            + "<|im_start|>user\nagain<|im_end|><|im_start|>assistant\n",
            prompt);

        // No system message: the template's default one.
        Assert.Equal("<|endoftext|><|im_start|>system\nYou are a helpful assistant.<|im_end|><|im_start|>user\nhi<|im_end|><|im_start|>assistant\n",
            template.Render("llama", [new("user", "hi")]));
    }

    [Fact]
    public void A_template_that_raises_refuses_those_messages_with_its_own_message()
    {
        var e = Assert.Throws<ProntoException>(() => Template("llama").Render("llama", [new("user", "a"), new("user", "b")]));
        Assert.Equal(ErrorCode.InvalidArgument, e.Code);
        Assert.Equal("model 'llama': its chat template refused the messages: Conversation roles must alternate user/assistant/user/assistant/...", e.Message);

        // The model still renders a good conversation afterwards.
        Assert.EndsWith("<|im_start|>user\nok<|im_end|><|im_start|>assistant\n", Template("llama").Render("llama", [new("user", "ok")]), StringComparison.Ordinal);
    }

    [Fact]
    public void A_chatml_template_renders_the_same_through_the_engine_as_pronto_s_own_chatml()
    {
        var template = Template("chatml");
        Assert.True(template.IsJinja);
        ChatMessage[] messages = [new("system", "Be brief."), new("user", "hello"), new("assistant", "Hi."), new("user", "bye")];
        Assert.Equal(ChatTemplate.ChatMl.Render("chatml", messages), template.Render("chatml", messages));
        Assert.Equal(ChatTemplate.ChatMl.Render(SupportChatModel.Name, [new("user", "x")]), SupportChatModel.Prompt("x"));
    }

    [Fact]
    public void A_template_the_engine_cannot_parse_leaves_chat_unsupported_with_the_reason_and_completions_working()
    {
        var template = Template("broken");
        Assert.False(template.IsJinja);
        Assert.StartsWith("its tokenizer_config.json chat_template cannot be rendered: ", template.Unsupported, StringComparison.Ordinal);
        var e = Assert.Throws<ProntoException>(() => template.Render("broken", [new("user", "hi")]));
        Assert.Equal(ErrorCode.InvalidArgument, e.Code);
        Assert.StartsWith("model 'broken' cannot render chat messages: its tokenizer_config.json chat_template cannot be rendered: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_generation_prompt_the_messages_render_alone_and_continue_final_message_ends_inside_the_last()
    {
        ChatMessage[] messages = [new("user", "hello"), new("assistant", " The answer is ")];
        // Pronto's ChatML keeps the content as sent; the Jinja template (through GenAI) trims it.
        foreach (var (name, template, last) in (ReadOnlySpan<(string, ChatTemplate, string)>)[("chatml", ChatTemplate.ChatMl, "<|im_start|>assistant\n The answer is <|im_end|>\n"), ("llama", Template("llama"), "<|im_start|>assistant\nThe answer is<|im_end|>")])
        {
            // The last message closed, no reply opened.
            var closed = template.Render(name, messages, addGenerationPrompt: false);
            Assert.EndsWith("<|im_start|>user\nhello<|im_end|>" + (name == "chatml" ? "\n" : "") + last, closed, StringComparison.Ordinal);

            // Continued: cut right after the last message's trimmed content, where the model goes on.
            var open = template.Render(name, messages, addGenerationPrompt: false, continueFinalMessage: true);
            Assert.Equal(closed[..(closed.LastIndexOf("The answer is", StringComparison.Ordinal) + "The answer is".Length)], open);
            Assert.EndsWith(last[..(last.IndexOf("The answer is", StringComparison.Ordinal) + "The answer is".Length)], open, StringComparison.Ordinal);
        }

        // A last message with nothing to continue is a 400 that says so.
        var e = Assert.Throws<ProntoException>(() => ChatTemplate.ChatMl.Render("chatml", [new("user", "hello"), new("assistant", "  ")], continueFinalMessage: true));
        Assert.Equal(ErrorCode.InvalidArgument, e.Code);
        Assert.Equal("model 'chatml': continue_final_message needs a last message with content to continue", e.Message);
    }
}
