using System.Buffers;
using Microsoft.AspNetCore.Http;
using Pronto.Core.Errors;
using Pronto.Core.Protocol;

namespace Pronto.Server.Http;

/// <summary>The error taxonomy mapped to HTTP once: status codes and the protocol's <c>{"error": "..."}</c> body.</summary>
internal static class HttpErrors
{
    public static int StatusFor(ErrorCode code) => code switch
    {
        ErrorCode.InvalidArgument => StatusCodes.Status400BadRequest,
        ErrorCode.NotFound => StatusCodes.Status404NotFound,
        ErrorCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        ErrorCode.Unsupported => StatusCodes.Status501NotImplemented,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>Replaces whatever the response holds with <paramref name="status"/> and the error body; <paramref name="headers"/> adds headers after that reset.</summary>
    public static async Task WriteAsync(HttpContext context, int status, string message, Action<HttpResponse>? headers = null)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.Clear();
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        headers?.Invoke(context.Response);
        var buffer = new ArrayBufferWriter<byte>(message.Length + 16);
        InferenceJson.WriteError(buffer, message);
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }
}
