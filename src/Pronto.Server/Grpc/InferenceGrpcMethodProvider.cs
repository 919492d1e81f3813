using System.Reflection;
using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Routing;
using Pronto.Server.Grpc.Protocol;

namespace Pronto.Server.Grpc;

/// <summary>
/// Binds <c>inference.GRPCInferenceService</c>'s methods as Grpc.AspNetCore's own binder does, with one difference: a
/// request message that does not parse is INVALID_ARGUMENT with the parser's words. Grpc.AspNetCore parses before any
/// interceptor runs and answers a parser exception with UNKNOWN ("Exception was thrown by handler"); an
/// <see cref="RpcException"/> from the deserializer keeps its status. <see cref="GrpcEndpoints.AddProntoGrpc"/> puts this
/// provider in place of the library's.
/// </summary>
internal sealed class InferenceGrpcMethodProvider : IServiceMethodProvider<InferenceGrpcService>
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<InferenceGrpcService> context) =>
        GRPCInferenceService.BindService(new Binder(context), null!);

    private sealed class Binder(ServiceMethodProviderContext<InferenceGrpcService> context) : ServiceBinderBase
    {
        // Routing metadata the library's binder adds: gRPC is POST only.
        private static readonly object[] Metadata = [new HttpMethodMetadata(["POST"], acceptCorsPreflight: true)];

        /// <summary>Every method of the service is unary; <paramref name="handler"/> is null (bound per call to the service instance).</summary>
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
        {
            var target = typeof(InferenceGrpcService).GetMethod(method.Name, BindingFlags.Public | BindingFlags.Instance, [typeof(TRequest), typeof(ServerCallContext)])
                ?? throw new InvalidOperationException($"InferenceGrpcService has no method {method.Name}");
            var invoker = target.CreateDelegate<UnaryServerMethod<InferenceGrpcService, TRequest, TResponse>>();
            var requests = method.RequestMarshaller;
            var name = method.Name;
            var parsing = Marshallers.Create(requests.ContextualSerializer, deserialization =>
            {
                try
                {
                    return requests.ContextualDeserializer(deserialization);
                }
                catch (InvalidProtocolBufferException e)
                {
                    throw new RpcException(new Status(StatusCode.InvalidArgument, $"the {name} request is not a valid protobuf message: {e.Message}"));
                }
            });
            context.AddUnaryMethod(new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, parsing, method.ResponseMarshaller), Metadata, invoker);
        }
    }
}
