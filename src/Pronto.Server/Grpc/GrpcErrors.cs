using Grpc.Core;
using Pronto.Core.Errors;

namespace Pronto.Server.Grpc;

/// <summary>The error taxonomy mapped to gRPC once: status codes, with the same messages REST sends.</summary>
internal static class GrpcErrors
{
    public static StatusCode StatusFor(ErrorCode code) => code switch
    {
        ErrorCode.InvalidArgument => StatusCode.InvalidArgument,
        ErrorCode.NotFound => StatusCode.NotFound,
        ErrorCode.Unavailable => StatusCode.Unavailable,
        ErrorCode.Unsupported => StatusCode.Unimplemented,
        ErrorCode.Conflict => StatusCode.FailedPrecondition,
        _ => StatusCode.Internal,
    };

    public static RpcException ToRpcException(ProntoException e) => new(new Status(StatusFor(e.Code), e.Message));
}
