using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntimeGenAI;
using Pronto.Core.Errors;
using Pronto.Core.Generation;

namespace Pronto.Onnx;

/// <summary>
/// A model's Jinja chat template rendered by ONNX Runtime GenAI (<c>Tokenizer.ApplyChatTemplate</c>, its Jinja engine),
/// with the model's <c>bos_token</c> / <c>eos_token</c>. GenAI reads a tokenizer from a folder with a genai_config.json,
/// and takes the special tokens from tokenizer_config.json only when it names a tokenizer class: the tokenizer files
/// are linked into a scratch folder beside a minimal genai_config.json (and a tokenizer_config.json given GPT-2's class
/// when it names none), read once, and the folder removed.
/// </summary>
internal sealed class GenaiChatTemplate : IChatTemplateRenderer
{
    private readonly Tokenizer _tokenizer;
    private readonly string _template;
    private readonly Lock _gate = new();

    private GenaiChatTemplate(Tokenizer tokenizer, string template)
    {
        _tokenizer = tokenizer;
        _template = template;
    }

    public static GenaiChatTemplate Load(string tokenizerJson, string? tokenizerConfigJson, string template)
    {
        var folder = Directory.CreateTempSubdirectory("pronto-chat-template-").FullName;
        try
        {
            File.CreateSymbolicLink(Path.Combine(folder, "tokenizer.json"), Path.GetFullPath(tokenizerJson));
            var config = tokenizerConfigJson is null ? new JsonObject() : JsonNode.Parse(File.ReadAllText(tokenizerConfigJson)) as JsonObject ?? new JsonObject();
            config["tokenizer_class"] ??= "GPT2Tokenizer";
            File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), config.ToJsonString());
            // What GenAI's tokenizer reads of genai_config.json; no decoder is loaded from it.
            File.WriteAllText(Path.Combine(folder, "genai_config.json"), """
                {"model": {"type": "llama", "vocab_size": 1, "context_length": 1, "bos_token_id": 0, "eos_token_id": 0, "pad_token_id": 0,
                 "decoder": {"filename": "none.onnx", "head_size": 1, "hidden_size": 1, "num_attention_heads": 1, "num_hidden_layers": 1, "num_key_value_heads": 1}}}
                """);
            try
            {
                return new GenaiChatTemplate(new Tokenizer(folder), template);
            }
            catch (OnnxRuntimeGenAIException e)
            {
                return ProntoErrors.InvalidArgument<GenaiChatTemplate>($"ONNX Runtime GenAI cannot read its tokenizer: {FirstLine(e.Message)}");
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true)
    {
        var json = new JsonArray([.. messages.Select(m => new JsonObject { ["role"] = m.Role, ["content"] = m.Content })]).ToJsonString();
        try
        {
            lock (_gate)
            {
                return _tokenizer.ApplyChatTemplate(_template, json, null, addGenerationPrompt);
            }
        }
        catch (OnnxRuntimeGenAIException e)
        {
            // The engine's message, then where in the template it stopped (a copy of the template): the first line says it.
            return ProntoErrors.InvalidArgument<string>(FirstLine(e.Message));
        }
    }

    public void Dispose() => _tokenizer.Dispose();

    private static string FirstLine(string message)
    {
        var end = message.IndexOf(" at row ", StringComparison.Ordinal);
        var line = end >= 0 ? message[..end] : message;
        var newline = line.IndexOf('\n', StringComparison.Ordinal);
        return (newline >= 0 ? line[..newline] : line).Trim();
    }
}
