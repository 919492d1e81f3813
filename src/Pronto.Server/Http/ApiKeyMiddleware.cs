using Microsoft.AspNetCore.Http;

namespace Pronto.Server.Http;

/// <summary>
/// Inference and metadata behind API keys when any are configured (<c>Authorization: Bearer KEY</c>);
/// the admin API (the repository API, and the jobs API's changes: POST and DELETE under /v2/jobs) off unless enabled, and
/// then behind an admin key. Health checks, /metrics and the API docs stay open, as probes and scrapers expect.
/// </summary>
internal sealed class ApiKeyMiddleware(RequestDelegate next, ApiKeys keys)
{
    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/v2/repository"))
        {
            return Admin(context, ApiKeys.RepositoryDisabledMessage);
        }

        if (path.StartsWithSegments("/v2/jobs") && !HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            return Admin(context, ApiKeys.JobsDisabledMessage);
        }

        if (!keys.InferenceNeedsKey || path.StartsWithSegments("/v2/health") || !(path.StartsWithSegments("/v2") || path.StartsWithSegments("/v1") || TokenizeRoutes.Covers(path)))
        {
            return next(context);
        }

        return keys.AllowsInference(Authorization(context)) ? next(context) : Challenge(context, ApiKeys.ApiKeyChallenge);
    }

    private Task Admin(HttpContext context, string disabledMessage)
    {
        if (!keys.RepositoryApiEnabled)
        {
            return HttpErrors.WriteAsync(context, StatusCodes.Status403Forbidden, disabledMessage);
        }

        return keys.AllowsAdmin(Authorization(context)) ? next(context) : Challenge(context, ApiKeys.AdminKeyChallenge);
    }

    private static string? Authorization(HttpContext context)
    {
        var header = context.Request.Headers.Authorization;
        return header.Count == 0 ? null : header.ToString();
    }

    private static Task Challenge(HttpContext context, string message) =>
        // The header goes in after WriteAsync resets the response (set before, it was cleared away).
        HttpErrors.WriteAsync(context, StatusCodes.Status401Unauthorized, message, response => response.Headers.WWWAuthenticate = "Bearer");
}
