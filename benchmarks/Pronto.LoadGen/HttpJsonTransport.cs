namespace Pronto.LoadGen;

/// <summary>HTTP with the protocol's JSON body, sent exactly as the caller wrote it.</summary>
/// <param name="serverUrl">The server's HTTP address, e.g. <c>http://127.0.0.1:8000</c>.</param>
/// <param name="modelName">The model the requests go to.</param>
/// <param name="jsonBody">An Open Inference Protocol v2 request body; kept, not copied.</param>
public sealed class HttpJsonTransport(Uri serverUrl, string modelName, byte[] jsonBody)
    : HttpTransport(serverUrl, modelName, jsonBody, jsonBody.Length)
{
    public override string Name => "json";
}
