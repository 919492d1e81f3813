namespace Pronto.Server;

/// <summary>What the server says about itself (<c>GET /v2</c>, gRPC ServerMetadata).</summary>
public static class ServerInfo
{
    public static string Version { get; } = typeof(ServerInfo).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Protocol extensions supported, with Triton's names.</summary>
    public static IReadOnlyList<string> Extensions { get; } =
        ["classification", "binary_tensor_data", "model_repository", "model_configuration", "statistics"];
}
