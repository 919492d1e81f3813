using System.Security.Cryptography;
using System.Text;

namespace Pronto.Server;

/// <summary>
/// The server's credentials check, shared by REST (<see cref="Http.ApiKeyMiddleware"/>) and gRPC
/// (<see cref="Grpc.GrpcAuthInterceptor"/>) so both transports accept exactly the same keys and say the same thing.
/// Keys arrive as <c>Authorization: Bearer KEY</c> (an HTTP header, or gRPC metadata <c>authorization</c>).
/// </summary>
internal sealed class ApiKeys(ProntoServerOptions options)
{
    public const string RepositoryDisabledMessage =
        "the repository API is disabled; enable it with --enable-repository-api (Pronto:EnableRepositoryApi) and an admin key";

    public const string JobsDisabledMessage =
        "the admin API is disabled, and adding, removing or running jobs needs it; enable it with --enable-repository-api (Pronto:EnableRepositoryApi) and an admin key";

    public const string ApiKeyChallenge = "missing or invalid credentials: send 'Authorization: Bearer <key>' with an API key";

    public const string AdminKeyChallenge = "missing or invalid credentials: send 'Authorization: Bearer <key>' with an admin key";

    private readonly byte[][] _apiKeys = [.. options.ApiKeys.Select(Encoding.UTF8.GetBytes)];
    private readonly byte[][] _adminKeys = [.. options.AdminKeys.Select(Encoding.UTF8.GetBytes)];

    /// <summary>Inference and metadata need a key only when API keys are configured.</summary>
    public bool InferenceNeedsKey => _apiKeys.Length > 0;

    public bool RepositoryApiEnabled => options.EnableRepositoryApi;

    /// <summary>True when no API key is required, or <paramref name="authorization"/> carries an API or admin key.</summary>
    public bool AllowsInference(string? authorization) =>
        !InferenceNeedsKey || Matches(authorization, _apiKeys) || Matches(authorization, _adminKeys);

    /// <summary>True when <paramref name="authorization"/> carries an admin key.</summary>
    public bool AllowsAdmin(string? authorization) => Matches(authorization, _adminKeys);

    private static bool Matches(string? authorization, byte[][] keys)
    {
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var given = Encoding.UTF8.GetBytes(authorization.AsSpan(7).Trim().ToString());
        var ok = false;
        foreach (var key in keys)
        {
            // Constant time, and every key checked, so timing says nothing about which key nearly matched.
            ok |= CryptographicOperations.FixedTimeEquals(given, key);
        }

        return ok;
    }
}
