using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Pronto.Core.Errors;

namespace Pronto.Server.Http;

/// <summary>
/// OpenAI's error object, <c>{"error":{"message","type","param","code"}}</c>, for every error under <c>/v1</c>
/// (the OpenAI SDKs read <c>error.message</c> from it). Type and code are OpenAI's own: <c>invalid_request_error</c>
/// for every 4xx (OpenAI answers a missing or wrong key with it too, code <c>invalid_api_key</c>; an unknown model
/// with code <c>model_not_found</c>), <c>server_error</c> for every 5xx.
/// </summary>
internal static class OpenAiErrors
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>True for the routes that answer in OpenAI's form.</summary>
    public static bool Covers(PathString path) => path.StartsWithSegments("/v1") || TokenizeRoutes.Covers(path);

    /// <summary>
    /// The one mapping from an HTTP error to OpenAI's <c>type</c> and <c>code</c>; <paramref name="cause"/> is the
    /// taxonomy's code when a <see cref="ProntoException"/> caused the error (the only thing not found under /v1 is a model).
    /// </summary>
    public static (string Type, string? Code) Describe(int status, ErrorCode? cause) => (
        status >= StatusCodes.Status500InternalServerError ? "server_error" : "invalid_request_error",
        status == StatusCodes.Status401Unauthorized ? "invalid_api_key"
            : cause == ErrorCode.NotFound ? "model_not_found"
            : null);

    public static void Write(IBufferWriter<byte> writer, int status, string message, ErrorCode? cause)
    {
        using var json = new Utf8JsonWriter(writer, WriterOptions);
        WriteObject(json, status, message, cause);
    }

    /// <summary>The error object itself, into a writer the caller owns (a streamed response's error event).</summary>
    public static void WriteObject(Utf8JsonWriter json, int status, string message, ErrorCode? cause)
    {
        var (type, code) = Describe(status, cause);
        json.WriteStartObject();
        json.WriteStartObject("error"u8);
        json.WriteString("message"u8, message);
        json.WriteString("type"u8, type);
        // No error names a single request field in a machine-readable way yet; the message does.
        json.WriteNull("param"u8);
        if (code is null)
        {
            json.WriteNull("code"u8);
        }
        else
        {
            json.WriteString("code"u8, code);
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }
}
