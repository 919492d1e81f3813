using Grpc.Core;
using Grpc.Core.Interceptors;
using Pronto.Core.Errors;
using Pronto.Server.Http;

namespace Pronto.Server.Grpc;

/// <summary>
/// gRPC's side of the shutdown drain: once the server is stopping, every call but the probes (ServerLive,
/// ServerReady, which then says false) is UNAVAILABLE. <see cref="DrainMiddleware"/> counts the calls in flight.
/// </summary>
internal sealed class GrpcDrainInterceptor(ServerState state) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        if (state.Draining && !context.Method.EndsWith("/ServerLive", StringComparison.Ordinal) && !context.Method.EndsWith("/ServerReady", StringComparison.Ordinal))
        {
            throw new ProntoException(ErrorCode.Unavailable, DrainMiddleware.ShuttingDownMessage);
        }

        return continuation(request, context);
    }
}
