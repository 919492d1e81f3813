using Pronto.Core.Errors;
using Message = Pronto.Core.Configuration.Protocol.ModelConfig;

namespace Pronto.Core.Configuration;

/// <summary>
/// Reads and writes Triton's <c>config.pbtxt</c>: protobuf text format of Triton's <c>ModelConfig</c> message
/// (Protos/model_config.proto), read against the message's descriptors (<see cref="TextFormat"/>) so that a field the
/// schema does not have, at any depth, is an error with file, line and column; then mapped to
/// <see cref="ModelConfig"/> by <see cref="ModelConfigMessage"/>, which also rejects a <c>pronto.*</c> parameter
/// Pronto does not know. Fields of Triton's schema that Pronto does not act on (<c>optimization</c>,
/// <c>sequence_batching</c>, ...) are read and checked, then left aside.
/// </summary>
public static class ModelConfigText
{
    private const string Source = "config.pbtxt";

    /// <summary>Parses <paramref name="text"/>; <paramref name="defaultName"/> names the model when the config does not.</summary>
    /// <exception cref="ProntoException">InvalidArgument, with line and column, for syntax errors, unknown fields and bad values.</exception>
    public static ModelConfig Parse(string text, string defaultName) => Parse(text, defaultName, Source);

    /// <summary>As <see cref="Parse(string, string)"/>, with errors naming <paramref name="source"/> (the file's path).</summary>
    public static ModelConfig Parse(string text, string defaultName, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(defaultName);
        ArgumentNullException.ThrowIfNull(source);

        var message = TextFormat.Parse<Message>(text, source, out var positions);
        return ModelConfigMessage.FromMessage(message, defaultName, positions);
    }

    /// <summary>Writes Triton-style text that <see cref="Parse(string, string)"/> reads back to an equal config.</summary>
    public static string Format(ModelConfig config) => TextFormat.Format(ModelConfigMessage.ToMessage(config));
}
