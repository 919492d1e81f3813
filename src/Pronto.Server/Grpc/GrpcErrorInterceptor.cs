using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using Pronto.Core.Errors;

namespace Pronto.Server.Grpc;

/// <summary>
/// Turns every failure of a gRPC call into a status: the taxonomy's codes with REST's messages, CANCELLED when
/// the client went away, INTERNAL only for real faults (logged). The process keeps serving. The gRPC twin of
/// <see cref="Http.ErrorMiddleware"/>.
/// </summary>
internal sealed partial class GrpcErrorInterceptor(ILogger<GrpcErrorInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (ProntoException e)
        {
            throw GrpcErrors.ToRpcException(e);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The client cancelled or its deadline passed: nobody reads a response.
            throw new RpcException(new Status(StatusCode.Cancelled, "the call was cancelled"));
        }
        catch (Exception e) when (e is not RpcException)
        {
            LogUnhandled(logger, e, context.Method);
            throw new RpcException(new Status(StatusCode.Internal, $"internal error: {e.Message}"));
        }
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Error, Message = "Unhandled error in gRPC method {Method}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method);
}
