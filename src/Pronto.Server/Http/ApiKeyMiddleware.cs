using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Pronto.Server.Http;

/// <summary>
/// Inference and metadata behind API keys when any are configured (<c>Authorization: Bearer KEY</c>);
/// the repository API off unless enabled, and then behind an admin key. Health checks, /metrics and the
/// API docs stay open, as probes and scrapers expect.
/// </summary>
internal sealed class ApiKeyMiddleware(RequestDelegate next, ProntoServerOptions options)
{
    private readonly byte[][] _apiKeys = [.. options.ApiKeys.Select(Encoding.UTF8.GetBytes)];
    private readonly byte[][] _adminKeys = [.. options.AdminKeys.Select(Encoding.UTF8.GetBytes)];

    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/v2/repository"))
        {
            if (!options.EnableRepositoryApi)
            {
                return HttpErrors.WriteAsync(context, StatusCodes.Status403Forbidden,
                    "the repository API is disabled; enable it with --enable-repository-api (Pronto:EnableRepositoryApi) and an admin key");
            }

            return Authorized(context, _adminKeys) ? next(context) : Challenge(context, "an admin key");
        }

        if (_apiKeys.Length == 0 || path.StartsWithSegments("/v2/health") || !(path.StartsWithSegments("/v2") || path.StartsWithSegments("/v1")))
        {
            return next(context);
        }

        return Authorized(context, _apiKeys) || Authorized(context, _adminKeys) ? next(context) : Challenge(context, "an API key");
    }

    private static bool Authorized(HttpContext context, byte[][] keys)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var given = Encoding.UTF8.GetBytes(header.AsSpan(7).Trim().ToString());
        var ok = false;
        foreach (var key in keys)
        {
            // Constant time, and every key checked, so timing says nothing about which key nearly matched.
            ok |= CryptographicOperations.FixedTimeEquals(given, key);
        }

        return ok;
    }

    private static Task Challenge(HttpContext context, string what) =>
        // The header goes in after WriteAsync resets the response (set before, it was cleared away).
        HttpErrors.WriteAsync(context, StatusCodes.Status401Unauthorized, $"missing or invalid credentials: send 'Authorization: Bearer <key>' with {what}",
            response => response.Headers.WWWAuthenticate = "Bearer");
}
