using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Pronto.Server.Grpc;

/// <summary>
/// The security of the REST routes, for gRPC: ServerLive and ServerReady open (probes); the repository RPCs off
/// unless enabled (PERMISSION_DENIED), then behind an admin key; everything else behind an API key when any are
/// configured (UNAUTHENTICATED). Keys come as metadata <c>authorization: Bearer KEY</c>.
/// </summary>
internal sealed class GrpcAuthInterceptor(ApiKeys keys) : Interceptor
{
    private const string ServicePrefix = "/inference.GRPCInferenceService/";

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var method = context.Method.StartsWith(ServicePrefix, StringComparison.Ordinal) ? context.Method.AsSpan(ServicePrefix.Length) : context.Method.AsSpan();
        if (method.StartsWith("Repository", StringComparison.Ordinal))
        {
            if (!keys.RepositoryApiEnabled)
            {
                throw new RpcException(new Status(StatusCode.PermissionDenied, ApiKeys.RepositoryDisabledMessage));
            }

            if (!keys.AllowsAdmin(context.RequestHeaders.GetValue("authorization")))
            {
                throw new RpcException(new Status(StatusCode.Unauthenticated, ApiKeys.AdminKeyChallenge));
            }
        }
        else if (keys.InferenceNeedsKey && !method.SequenceEqual("ServerLive") && !method.SequenceEqual("ServerReady")
            && !keys.AllowsInference(context.RequestHeaders.GetValue("authorization")))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, ApiKeys.ApiKeyChallenge));
        }

        return continuation(request, context);
    }
}
