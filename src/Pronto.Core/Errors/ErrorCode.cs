namespace Pronto.Core.Errors;

/// <summary>
/// Pronto's one error taxonomy. Every front end maps it once: HTTP in the server's error mapper
/// (400, 404, 503, 501, 500, 409), gRPC to <c>StatusCode</c>, the CLI to its exit codes.
/// </summary>
public enum ErrorCode
{
    /// <summary>The request is wrong: shape, datatype, byte size, a missing input, malformed data.</summary>
    InvalidArgument,

    /// <summary>An unknown model, version, input or output.</summary>
    NotFound,

    /// <summary>The model exists but cannot serve now: loading, unloaded, failed to load, queue full.</summary>
    Unavailable,

    /// <summary>Valid but not supported by Pronto or by the model.</summary>
    Unsupported,

    /// <summary>A real fault inside Pronto or the engine.</summary>
    Internal,

    /// <summary>The request conflicts with the current state: a name already taken, a run already in progress.</summary>
    Conflict,
}
