using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Pronto.Core.Errors;

namespace Pronto.Server.Http;

/// <summary>
/// Turns every failure of a REST request into a status and an error body (<c>{"error": "..."}</c>, OpenAI's error object
/// under /v1; <see cref="HttpErrors"/>): the taxonomy's codes, 413 for bodies over the limit, 500 only for real faults
/// (logged). The process keeps serving.
/// </summary>
internal sealed partial class ErrorMiddleware(RequestDelegate next, ILogger<ErrorMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
            if (!context.Response.HasStarted && context.Response.Headers["grpc-status"] == "13"
                && context.Response.Headers["grpc-message"] == "Incomplete message.")
            {
                // Grpc.AspNetCore answers a frame whose length prefix promises more bytes than the request carries
                // with INTERNAL (trailers-only, so still in the headers here): the client's message is cut short.
                context.Response.Headers["grpc-status"] = "3";
                context.Response.Headers["grpc-message"] = "the request message is truncated: its gRPC frame declares more bytes than the request carries";
            }

            if (!context.Response.HasStarted && context.Response.StatusCode is StatusCodes.Status404NotFound or StatusCodes.Status405MethodNotAllowed)
            {
                // No route matched (or not for this method): the protocol's error body, not an empty one.
                await HttpErrors.WriteAsync(context, context.Response.StatusCode, context.Response.StatusCode == StatusCodes.Status404NotFound
                    ? $"no route {context.Request.Method} {context.Request.Path}"
                    : $"{context.Request.Method} is not allowed on {context.Request.Path}");
            }
        }
        catch (ProntoException e)
        {
            if (e.RetryAfterSeconds is { } seconds)
            {
                // An overloaded queue: tell the client when to come back (Triton answers 503 the same way).
                await HttpErrors.WriteAsync(context, HttpErrors.StatusFor(e.Code), e.Message,
                    response => response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Code);
            }
            else
            {
                await HttpErrors.WriteAsync(context, HttpErrors.StatusFor(e.Code), e.Message, cause: e.Code);
            }
        }
        catch (BadHttpRequestException e)
        {
            // The unread rest of the body makes the connection unusable (Kestrel drops it rather than read past the
            // limit): say so with Connection: close, or a client reuses it and its next request fails.
            await HttpErrors.WriteAsync(context, e.StatusCode, e.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? $"request body too large: {e.Message}"
                : e.Message, response => response.Headers.Connection = "close");
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client is gone: nobody reads a response. 499 is what proxies log for it.
            context.Response.StatusCode = 499;
        }
        catch (Exception e)
        {
            LogUnhandled(logger, e, context.Request.Path);
            await HttpErrors.WriteAsync(context, StatusCodes.Status500InternalServerError, $"internal error: {e.Message}");
        }
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Unhandled error on {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string path);
}
