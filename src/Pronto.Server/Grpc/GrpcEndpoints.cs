using Grpc.AspNetCore.Server.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Pronto.Server.Grpc;

internal static class GrpcEndpoints
{
    /// <summary>
    /// Registers gRPC with message limits of <paramref name="options"/> (gRPC's 4 MiB default rejects real image
    /// batches) and the error, shutdown-drain and credentials interceptors, outermost first.
    /// </summary>
    public static IServiceCollection AddProntoGrpc(this IServiceCollection services, ProntoServerOptions options)
    {
        // Singletons: both are stateless, so one instance serves every call instead of one per call.
        services.AddSingleton<GrpcErrorInterceptor>();
        services.AddSingleton<GrpcDrainInterceptor>();
        services.AddSingleton<GrpcAuthInterceptor>();
        services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = options.MaxGrpcMessageBytes;
            grpc.MaxSendMessageSize = options.MaxGrpcMessageBytes;
            grpc.Interceptors.Add<GrpcErrorInterceptor>();
            grpc.Interceptors.Add<GrpcDrainInterceptor>();
            grpc.Interceptors.Add<GrpcAuthInterceptor>();
        });

        // Our binder instead of the library's (the open generic it registers for every service; this is our only
        // one): a request that does not parse is INVALID_ARGUMENT, not UNKNOWN.
        services.RemoveAll(typeof(IServiceMethodProvider<>));
        services.AddSingleton<IServiceMethodProvider<InferenceGrpcService>, InferenceGrpcMethodProvider>();
        return services;
    }

    /// <summary>Maps inference.GRPCInferenceService (served on the HTTP/2 port).</summary>
    public static void MapProntoGrpc(this IEndpointRouteBuilder app) => app.MapGrpcService<InferenceGrpcService>();
}
