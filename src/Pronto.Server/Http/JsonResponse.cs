using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Pronto.Server.Http;

/// <summary>Writes a JSON response body built with a <see cref="Utf8JsonWriter"/>: buffered, so Content-Length is set.</summary>
internal static class JsonResponse
{
    public static async Task WriteAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }
}
