using Microsoft.AspNetCore.Http;
using Pronto.Core.Errors;

namespace Pronto.Server.Http;

/// <summary>
/// Counts every request inside the pipeline (REST and gRPC) for the shutdown drain (<see cref="ShutdownDrain"/>), and
/// once the server is stopping answers new REST requests 503 with Retry-After, except the probes (/v2/health/live,
/// /v2/health/ready, which then says not ready) and /metrics. gRPC calls pass to <see cref="Grpc.GrpcDrainInterceptor"/>,
/// which answers UNAVAILABLE in gRPC's own framing.
/// </summary>
internal sealed class DrainMiddleware(RequestDelegate next, ServerState state)
{
    /// <summary>What a request that arrives during shutdown is told.</summary>
    public const string ShuttingDownMessage = "the server is shutting down";

    // A load balancer takes the draining replica out within a probe interval; a client that retries after a second
    // reaches another one (or this one restarted).
    private const int RetryAfterSeconds = 1;

    public async Task InvokeAsync(HttpContext context)
    {
        state.Enter();
        try
        {
            if (state.Draining && !IsGrpc(context.Request) && !IsProbe(context.Request.Path))
            {
                throw new ProntoException(ErrorCode.Unavailable, ShuttingDownMessage) { RetryAfterSeconds = RetryAfterSeconds };
            }

            await next(context);
        }
        finally
        {
            state.Exit();
        }
    }

    private static bool IsGrpc(HttpRequest request) => request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true;

    private static bool IsProbe(PathString path) => path.StartsWithSegments("/v2/health") || path.StartsWithSegments("/metrics");
}
