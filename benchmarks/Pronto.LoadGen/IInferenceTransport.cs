namespace Pronto.LoadGen;

/// <summary>
/// One way of sending one fixed inference request to a server (HTTP JSON, HTTP binary, gRPC). The request is
/// encoded once, when the transport is built, so that a send costs only the transport itself.
/// </summary>
/// <remarks>
/// Implementations are thread-safe: the load loops call <see cref="SendAsync"/> from many tasks at once.
/// Failures (an error status, a refused connection, an undecodable response) are returned as
/// <see cref="InferenceReply.Error"/>, not thrown, so that a run counts them and goes on.
/// </remarks>
public interface IInferenceTransport : IDisposable
{
    /// <summary>The transport's name in reports: <c>json</c>, <c>binary</c> or <c>grpc</c>.</summary>
    string Name { get; }

    /// <summary>
    /// Sends the request once and reads the whole response. With <paramref name="decode"/> the response's outputs
    /// are decoded into tensors; that costs client CPU, so the loops ask for it only for the responses they check.
    /// </summary>
    Task<InferenceReply> SendAsync(bool decode, CancellationToken cancellationToken = default);
}
