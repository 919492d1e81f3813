using System.Text;
using Pronto.Core.Errors;

namespace Pronto.Core.Generation;

/// <summary>One chat message: a role (system, user, assistant, ...) and its text.</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>Renders chat messages with one model's chat template, ending where the assistant's reply starts.</summary>
public interface IChatTemplateRenderer : IDisposable
{
    /// <summary>The prompt; throws <see cref="ProntoException"/> (InvalidArgument) when the template refuses the messages.</summary>
    string Render(IReadOnlyList<ChatMessage> messages);
}

/// <summary>
/// A backend that renders Jinja chat templates (the ONNX backend: ONNX Runtime GenAI's <c>ApplyChatTemplate</c>).
/// </summary>
public interface IJinjaChatTemplates
{
    /// <summary>
    /// A renderer for <paramref name="template"/> with the special tokens of the tokenizer files (tokenizer.json and
    /// tokenizer_config.json, which give <c>bos_token</c> / <c>eos_token</c>); throws when they cannot be read.
    /// </summary>
    IChatTemplateRenderer LoadChatTemplate(string tokenizerJson, string? tokenizerConfigJson, string template);
}

/// <summary>
/// Renders chat messages into a prompt: with the model's own Jinja <c>chat_template</c> (tokenizer_config.json) where
/// the backend renders Jinja (<see cref="IJinjaChatTemplates"/>), else ChatML, which Pronto renders itself, when the
/// template is a ChatML one (it writes <c>&lt;|im_start|&gt;</c> and <c>&lt;|im_end|&gt;</c> around the role and
/// content) or the config says <c>pronto.generative.chat_template: chatml</c>. A model with no template, or one that
/// cannot be rendered, refuses chat requests (completions still work): <see cref="Unsupported"/> says why.
/// </summary>
public sealed class ChatTemplate : IDisposable
{
    private readonly IChatTemplateRenderer? _renderer;

    private ChatTemplate(string? unsupported, IChatTemplateRenderer? renderer = null)
    {
        Unsupported = unsupported;
        _renderer = renderer;
    }

    /// <summary>ChatML: <c>&lt;|im_start|&gt;{role}\n{content}&lt;|im_end|&gt;\n</c> per message, then <c>&lt;|im_start|&gt;assistant\n</c>.</summary>
    public static ChatTemplate ChatMl { get; } = new(null);

    /// <summary>Null when messages can be rendered, else why not (no template, or one Pronto cannot render).</summary>
    public string? Unsupported { get; }

    /// <summary>Whether the model's own Jinja template renders the messages (not Pronto's ChatML).</summary>
    public bool IsJinja => _renderer is not null;

    public static ChatTemplate None(string reason) => new(reason);

    /// <summary>The model's Jinja template, rendered by <paramref name="renderer"/> (which the template then owns).</summary>
    public static ChatTemplate Jinja(IChatTemplateRenderer renderer) => new(null, renderer);

    /// <summary>Whether a Jinja <c>chat_template</c> is a ChatML one (it writes the ChatML markers around role and content).</summary>
    public static bool IsChatMl(string template) =>
        template.Contains("<|im_start|>", StringComparison.Ordinal)
        && template.Contains("<|im_end|>", StringComparison.Ordinal)
        && template.Contains("role", StringComparison.Ordinal)
        && template.Contains("content", StringComparison.Ordinal);

    /// <summary>
    /// Reads a Jinja <c>chat_template</c> without a Jinja engine: ChatML is recognized, anything else is unsupported,
    /// with <paramref name="why"/> (the engine's error, when one failed) in the reason.
    /// </summary>
    public static ChatTemplate FromJinja(string template, string? why = null) =>
        IsChatMl(template)
            ? ChatMl
            : None(why ?? "its tokenizer_config.json chat_template is not ChatML, and no Jinja renderer is available to this model's backend (set pronto.generative.chat_template: chatml if the model was trained on ChatML)");

    /// <summary>The prompt for <paramref name="messages"/>, ending where the assistant's reply starts.</summary>
    public string Render(string model, IReadOnlyList<ChatMessage> messages)
    {
        if (Unsupported is not null)
        {
            ProntoErrors.InvalidArgument($"model '{model}' cannot render chat messages: {Unsupported}");
        }

        if (_renderer is not null)
        {
            try
            {
                return _renderer.Render(messages);
            }
            catch (ProntoException e)
            {
                return ProntoErrors.InvalidArgument<string>($"model '{model}': its chat template refused the messages: {e.Message}");
            }
        }

        var prompt = new StringBuilder();
        foreach (var message in messages)
        {
            prompt.Append("<|im_start|>").Append(message.Role).Append('\n').Append(message.Content).Append("<|im_end|>\n");
        }

        return prompt.Append("<|im_start|>assistant\n").ToString();
    }

    public void Dispose() => _renderer?.Dispose();
}
