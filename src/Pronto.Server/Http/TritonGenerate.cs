using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Pronto.Core.Errors;
using Pronto.Core.Generation;

namespace Pronto.Server.Http;

/// <summary>
/// The answers of Triton's generate extension: <c>/generate</c> one JSON object <c>{"model_name", "model_version",
/// "text_output"}</c>; <c>/generate_stream</c> the same object per piece of text as Server-Sent Events
/// (<c>data: {...}\n\n</c>, no end marker: the stream ends with the response), an error after the first event as
/// <c>data: {"error": "..."}</c>, as Triton sends them.
/// </summary>
internal static class TritonGenerate
{
    public static async Task RespondAsync(HttpContext context, string model, string version, IAsyncEnumerable<GenerationChunk> stream, bool streamed)
    {
        if (!streamed)
        {
            var text = new System.Text.StringBuilder();
            await foreach (var chunk in stream.WithCancellation(context.RequestAborted))
            {
                text.Append(chunk.Text);
            }

            await JsonResponse.WriteAsync(context, StatusCodes.Status200OK, w => Write(w, model, version, text.ToString()));
            return;
        }

        var http = context.Response;
        http.StatusCode = StatusCodes.Status200OK;
        http.ContentType = "text/event-stream; charset=utf-8";
        http.Headers.CacheControl = "no-cache";
        await http.StartAsync(context.RequestAborted);

        // The headers go out now, not with the first text: a stream whose first tokens are held back (an incomplete
        // UTF-8 character, a possible stop string) would otherwise leave the client without a response.
        await http.Body.FlushAsync(context.RequestAborted);
        var buffer = new ArrayBufferWriter<byte>(256);
        try
        {
            await foreach (var chunk in stream.WithCancellation(context.RequestAborted))
            {
                if (chunk.Text.Length > 0)
                {
                    await OpenAiGeneration.WriteEventAsync(http, buffer, w => Write(w, model, version, chunk.Text), context.RequestAborted);
                }
            }
        }
        catch (ProntoException e)
        {
            await OpenAiGeneration.WriteEventAsync(http, buffer, w =>
            {
                w.WriteStartObject();
                w.WriteString("error"u8, e.Message);
                w.WriteEndObject();
            }, context.RequestAborted);
        }
    }

    private static void Write(Utf8JsonWriter w, string model, string version, string text)
    {
        w.WriteStartObject();
        w.WriteString("model_name"u8, model);
        w.WriteString("model_version"u8, version);
        w.WriteString("text_output"u8, text);
        w.WriteEndObject();
    }
}
