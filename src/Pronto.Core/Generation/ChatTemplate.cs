using System.Text;
using Pronto.Core.Errors;

namespace Pronto.Core.Generation;

/// <summary>One chat message: a role (system, user, assistant, ...) and its text.</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>Renders chat messages with one model's chat template.</summary>
public interface IChatTemplateRenderer : IDisposable
{
    /// <summary>
    /// The prompt, ending where the assistant's reply starts when <paramref name="addGenerationPrompt"/> (the template's
    /// <c>add_generation_prompt</c>); throws <see cref="ProntoException"/> (InvalidArgument) when the template refuses
    /// the messages.
    /// </summary>
    string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true);
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

    /// <summary>
    /// The prompt for <paramref name="messages"/>: ending where the assistant's reply starts (the default), with the
    /// messages alone (<paramref name="addGenerationPrompt"/> false), or, with <paramref name="continueFinalMessage"/>,
    /// ending inside the last message, right after its content (Hugging Face's and vLLM's continue_final_message: the
    /// messages rendered without a generation prompt, cut after the last place the final message's trimmed content
    /// appears), so the model goes on writing it.
    /// </summary>
    public string Render(string model, IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true, bool continueFinalMessage = false)
    {
        if (Unsupported is not null)
        {
            ProntoErrors.InvalidArgument($"model '{model}' cannot render chat messages: {Unsupported}");
        }

        var generationPrompt = addGenerationPrompt && !continueFinalMessage;
        string rendered;
        if (_renderer is not null)
        {
            try
            {
                rendered = _renderer.Render(messages, generationPrompt);
            }
            catch (ProntoException e)
            {
                return ProntoErrors.InvalidArgument<string>($"model '{model}': its chat template refused the messages: {e.Message}");
            }
        }
        else
        {
            var prompt = new StringBuilder();
            foreach (var message in messages)
            {
                prompt.Append("<|im_start|>").Append(message.Role).Append('\n').Append(message.Content).Append("<|im_end|>\n");
            }

            rendered = (generationPrompt ? prompt.Append("<|im_start|>assistant\n") : prompt).ToString();
        }

        if (!continueFinalMessage || messages.Count == 0)
        {
            return rendered;
        }

        var final = messages[^1].Content.Trim();
        if (final.Length == 0)
        {
            ProntoErrors.InvalidArgument($"model '{model}': continue_final_message needs a last message with content to continue");
        }

        var at = rendered.LastIndexOf(final, StringComparison.Ordinal);
        return at >= 0
            ? rendered[..(at + final.Length)]
            : ProntoErrors.InvalidArgument<string>($"model '{model}': continue_final_message is set, but the last message's content does not appear in the prompt its chat template renders");
    }

    public void Dispose() => _renderer?.Dispose();
}
