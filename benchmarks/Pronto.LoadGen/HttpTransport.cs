using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Pronto.Core.Errors;

namespace Pronto.LoadGen;

/// <summary>
/// POSTs one fixed body to <c>{server}/v2/models/{model}/infer</c> over HTTP/1.1; a non-2xx status is an error.
/// Responses are decoded as protocol JSON, with binary outputs after the JSON when the response carries
/// <c>Inference-Header-Content-Length</c> (the request asked for <c>binary_data_output</c>).
/// </summary>
public abstract class HttpTransport : IInferenceTransport
{
    /// <summary>The binary tensor extension's header: the length of the JSON that starts the body.</summary>
    public const string HeaderLengthName = "Inference-Header-Content-Length";

    private readonly HttpClient _client;
    private readonly Uri _url;
    private readonly byte[] _body;
    private readonly string _contentType;
    private readonly string? _headerLength;

    /// <param name="serverUrl">The server's HTTP address, e.g. <c>http://127.0.0.1:8000</c>.</param>
    /// <param name="modelName">The model the requests go to.</param>
    /// <param name="body">The request body, sent unchanged every time; kept, not copied.</param>
    /// <param name="jsonLength">Length of the JSON that starts <paramref name="body"/>; less than the body's length
    /// when binary tensors follow it, which is then sent as <c>application/octet-stream</c> with the header.</param>
    protected HttpTransport(Uri serverUrl, string modelName, byte[] body, int jsonLength)
    {
        ArgumentNullException.ThrowIfNull(serverUrl);
        ArgumentNullException.ThrowIfNull(body);
        _url = new Uri(serverUrl, $"v2/models/{Uri.EscapeDataString(modelName)}/infer");
        _body = body;
        var binary = jsonLength < body.Length;
        _contentType = binary ? "application/octet-stream" : "application/json";
        _headerLength = binary ? jsonLength.ToString(CultureInfo.InvariantCulture) : null;

        // Every outstanding request takes its own connection (HTTP/1.1); an open loop may hold hundreds.
        _client = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
    }

    public abstract string Name { get; }

    public async Task<InferenceReply> SendAsync(bool decode, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _url) { Content = new ByteArrayContent(_body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(_contentType);
        if (_headerLength is not null)
        {
            request.Headers.Add(HeaderLengthName, _headerLength);
        }

        try
        {
            using var response = await _client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return InferenceReply.Failed($"HTTP {(int)response.StatusCode}: {Encoding.UTF8.GetString(body)}");
            }

            return decode ? InferenceReply.Decoded(JsonResponse.Read(body, JsonLength(response, body))) : InferenceReply.Success;
        }
        catch (HttpRequestException e)
        {
            return InferenceReply.Failed(e.Message);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            return InferenceReply.Failed($"no answer within {_client.Timeout.TotalSeconds} s: {e.Message}");
        }
        catch (Exception e) when (e is ProntoException or JsonException or FormatException or InvalidOperationException)
        {
            return InferenceReply.Failed($"undecodable response: {e.Message}");
        }
    }

    public void Dispose()
    {
        _client.Dispose();
        GC.SuppressFinalize(this);
    }

    private static int JsonLength(HttpResponseMessage response, byte[] body) =>
        response.Headers.TryGetValues(HeaderLengthName, out var values)
            ? int.Parse(values.First(), CultureInfo.InvariantCulture)
            : body.Length;
}
