using System.Buffers;
using Microsoft.AspNetCore.Http;
using Pronto.Core.Errors;
using Pronto.Core.Protocol;

namespace Pronto.Server.Http;

/// <summary>
/// The error taxonomy mapped to HTTP once: status codes, and the body of the route's API: the protocol's
/// <c>{"error": "..."}</c>, or OpenAI's error object under <c>/v1</c> (<see cref="OpenAiErrors"/>).
/// </summary>
internal static class HttpErrors
{
    public static int StatusFor(ErrorCode code) => code switch
    {
        ErrorCode.InvalidArgument => StatusCodes.Status400BadRequest,
        ErrorCode.NotFound => StatusCodes.Status404NotFound,
        ErrorCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        ErrorCode.Unsupported => StatusCodes.Status501NotImplemented,
        ErrorCode.Conflict => StatusCodes.Status409Conflict,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>
    /// Replaces whatever the response holds with <paramref name="status"/> and the error body; <paramref name="headers"/> adds
    /// headers after that reset. <paramref name="cause"/> is the taxonomy's code when a <see cref="ProntoException"/> caused it.
    /// </summary>
    public static async Task WriteAsync(HttpContext context, int status, string message, Action<HttpResponse>? headers = null, ErrorCode? cause = null)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.Clear();
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        headers?.Invoke(context.Response);
        var buffer = new ArrayBufferWriter<byte>(message.Length + 96);
        if (OpenAiErrors.Covers(context.Request.Path))
        {
            OpenAiErrors.Write(buffer, status, message, cause);
        }
        else
        {
            InferenceJson.WriteError(buffer, message);
        }

        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }
}
