using Microsoft.AspNetCore.Routing;

namespace Pronto.Server.Grpc;

internal static class GrpcEndpoints
{
    /// <summary>Maps inference.GRPCInferenceService (on the HTTP/2 port).</summary>
    public static void MapProntoGrpc(this IEndpointRouteBuilder app)
    {
        _ = app;
    }
}
