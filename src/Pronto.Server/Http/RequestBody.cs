using System.Buffers;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Pronto.Core.Errors;

namespace Pronto.Server.Http;

/// <summary>
/// A request body read whole into a pooled buffer. The buffer goes back to the pool on dispose, so the
/// body must outlive the inference that reads tensors out of it (they are slices, not copies).
/// </summary>
internal sealed class RequestBody : IDisposable
{
    private byte[] _buffer;

    private RequestBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }

    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, Length);

    /// <summary>Reads the body; over <paramref name="maxBytes"/> is a 413 (Kestrel enforces the same limit while reading).</summary>
    public static async Task<RequestBody> ReadAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        var declared = request.ContentLength;
        if (declared > maxBytes)
        {
            throw new BadHttpRequestException($"the body is {declared} bytes; the limit is {maxBytes}", StatusCodes.Status413PayloadTooLarge);
        }

        // Content-Length sizes the buffer once; chunked bodies grow it by doubling.
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Max(declared ?? 16 * 1024, 1));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length >= maxBytes)
                    {
                        throw new BadHttpRequestException($"the body exceeds the limit of {maxBytes} bytes", StatusCodes.Status413PayloadTooLarge);
                    }

                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(maxBytes + 1, (long)buffer.Length * 2));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }

            return new RequestBody(buffer, length);
        }
        catch (Exception e)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (e is IOException and not BadHttpRequestException)
            {
                // Kestrel reports most framing errors as BadHttpRequestException (a 400), but an overflowing chunk size
                // or a reset as a plain IOException: still the request's fault, not the server's.
                throw new BadHttpRequestException($"the request body could not be read: {e.Message}", StatusCodes.Status400BadRequest, e);
            }

            throw;
        }
    }

    /// <summary>The JSON part's length: <c>Inference-Header-Content-Length</c> when binary tensors follow, else the whole body.</summary>
    public int JsonLength(HttpRequest request)
    {
        var header = request.Headers["Inference-Header-Content-Length"];
        if (header.Count == 0)
        {
            return Length;
        }

        if (!int.TryParse(header.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var jsonLength))
        {
            ProntoErrors.InvalidArgument($"Inference-Header-Content-Length '{header}' is not a non-negative integer");
        }

        if (jsonLength > Length)
        {
            ProntoErrors.InvalidArgument($"Inference-Header-Content-Length {jsonLength} is past the end of the {Length}-byte body");
        }

        return jsonLength;
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
