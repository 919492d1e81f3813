using System.Text.Json;
using Pronto.Core.Errors;

namespace Pronto.Server.Http;

/// <summary>
/// Optional fields of an OpenAI request body: absent or null reads as null, a value of the wrong JSON type is a 400
/// naming the field (not ignored, so a typo like <c>"stream": "true"</c> does not silently change the answer).
/// </summary>
internal static class OpenAiFields
{
    public static JsonElement? Number(JsonElement root, string name) =>
        Value(root, name) is { } value
            ? value.ValueKind == JsonValueKind.Number ? value : ProntoErrors.InvalidArgument<JsonElement>($"'{name}' must be a number")
            : null;

    public static float? Float(JsonElement root, string name) => Number(root, name) is { } value ? (float)value.GetDouble() : null;

    public static int? Integer(JsonElement root, string name) =>
        Value(root, name) is { } value
            ? value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) ? number : ProntoErrors.InvalidArgument<int>($"'{name}' must be an integer")
            : null;

    public static bool? Bool(JsonElement root, string name) =>
        Value(root, name) is { } value
            ? value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => ProntoErrors.InvalidArgument<bool>($"'{name}' must be true or false"),
            }
            : null;

    private static JsonElement? Value(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;
}
