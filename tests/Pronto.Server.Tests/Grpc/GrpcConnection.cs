using Grpc.Core;
using Grpc.Net.Client;
using Pronto.Server.Tests.GrpcClient;

namespace Pronto.Server.Tests.Grpc;

/// <summary>A channel and a client of the separately generated stubs, over cleartext HTTP/2 (h2c) to a server's gRPC port.</summary>
internal sealed class GrpcConnection : IDisposable
{
    private readonly GrpcChannel _channel;

    public GrpcConnection(ProntoServer server)
    {
        // The client's default receive limit (4 MiB) is left as is: responses here are small, and the large-request
        // test must prove the server's limit, not the client's.
        _channel = GrpcChannel.ForAddress(server.GrpcUri);
        Client = new GRPCInferenceService.GRPCInferenceServiceClient(_channel);
    }

    public GRPCInferenceService.GRPCInferenceServiceClient Client { get; }

    public static Metadata Bearer(string key) => new() { { "authorization", $"Bearer {key}" } };

    public void Dispose() => _channel.Dispose();
}
