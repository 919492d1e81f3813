using Pronto.Core.Inference;

namespace Pronto.Core.Protocol;

/// <summary>
/// A request read by <see cref="InferenceJson.ReadRequest(ReadOnlyMemory{byte}, int, string, string?, JsonLimits?)"/>:
/// the transport-neutral <see cref="InferenceRequest"/> plus what only the REST transport needs to answer it.
/// </summary>
public sealed class JsonInferenceRequest
{
    public required InferenceRequest Request { get; init; }

    /// <summary>
    /// The request-wide <c>"binary_data_output": true</c>. It is already applied to every output the request
    /// lists (unless that output says <c>binary_data</c> itself); when the request lists none, the default
    /// outputs the server picks are binary too: <see cref="InferenceJson.BinaryOutputs"/> works that out.
    /// </summary>
    public bool BinaryDataOutput { get; init; }
}
