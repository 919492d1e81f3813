using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Prometheus;

namespace Pronto.Server.Metrics;

internal static class MetricsEndpoints
{
    /// <summary>Prometheus text format at <c>/metrics</c> on the HTTP port, as Triton serves it.</summary>
    public static void MapProntoMetrics(this IEndpointRouteBuilder app)
    {
        var registry = app.ServiceProvider.GetRequiredService<ServerMetrics>().Registry;
        app.MapMetrics("/metrics", registry).ExcludeFromDescription();
    }
}
