using Microsoft.AspNetCore.Routing;

namespace Pronto.Server.Http;

internal static class OpenAiEndpoints
{
    public static void MapOpenAiRoutes(this IEndpointRouteBuilder app)
    {
        _ = app;
    }
}
