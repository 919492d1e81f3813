using System.Text;
using Pronto.Core.Errors;

namespace Pronto.Core.Generation;

/// <summary>One chat message: a role (system, user, assistant, ...) and its text.</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>
/// Renders chat messages into a prompt. Pronto has no Jinja engine (.NET has no well-kept one, and ONNX Runtime
/// GenAI's <c>ApplyChatTemplate</c> needs ONNX Runtime 1.32.0): it renders the ChatML format itself, which Qwen, Phi-3.5
/// MoE, SmolLM and many fine-tunes use, when <c>tokenizer_config.json</c>'s <c>chat_template</c> is a ChatML template
/// (it writes <c>&lt;|im_start|&gt;</c> and <c>&lt;|im_end|&gt;</c> around the role and content) or the config says
/// <c>pronto.generative.chat_template: chatml</c>. Any other template is refused, by name, at the chat request
/// (completions still work): <see cref="Unsupported"/> says why.
/// </summary>
public sealed class ChatTemplate
{
    private ChatTemplate(string? unsupported) => Unsupported = unsupported;

    /// <summary>ChatML: <c>&lt;|im_start|&gt;{role}\n{content}&lt;|im_end|&gt;\n</c> per message, then <c>&lt;|im_start|&gt;assistant\n</c>.</summary>
    public static ChatTemplate ChatMl { get; } = new(null);

    /// <summary>Null when messages can be rendered, else why not (no template, or one Pronto cannot render).</summary>
    public string? Unsupported { get; }

    public static ChatTemplate None(string reason) => new(reason);

    /// <summary>Reads a Jinja <c>chat_template</c>: ChatML is recognized, anything else is unsupported.</summary>
    public static ChatTemplate FromJinja(string template)
    {
        var chatMl = template.Contains("<|im_start|>", StringComparison.Ordinal)
            && template.Contains("<|im_end|>", StringComparison.Ordinal)
            && template.Contains("role", StringComparison.Ordinal)
            && template.Contains("content", StringComparison.Ordinal);
        return chatMl
            ? ChatMl
            : None("its tokenizer_config.json chat_template is not ChatML, the one format Pronto renders so far (set pronto.generative.chat_template: chatml if the model was trained on ChatML)");
    }

    /// <summary>The prompt for <paramref name="messages"/>, ending where the assistant's reply starts.</summary>
    public string Render(string model, IReadOnlyList<ChatMessage> messages)
    {
        if (Unsupported is not null)
        {
            ProntoErrors.InvalidArgument($"model '{model}' cannot render chat messages: {Unsupported}");
        }

        var prompt = new StringBuilder();
        foreach (var message in messages)
        {
            prompt.Append("<|im_start|>").Append(message.Role).Append('\n').Append(message.Content).Append("<|im_end|>\n");
        }

        return prompt.Append("<|im_start|>assistant\n").ToString();
    }
}
