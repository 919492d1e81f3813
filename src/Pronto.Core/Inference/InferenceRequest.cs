namespace Pronto.Core.Inference;

/// <summary>
/// One inference request, as every front end (REST, gRPC, CLI, batch, SQL) hands it to the core.
/// </summary>
/// <remarks>
/// Ownership: the request does not own its tensors' memory; the front end that built it keeps that
/// memory alive until the response has been produced (see <see cref="Tensors.Tensor"/>).
/// </remarks>
public sealed class InferenceRequest
{
    public required string ModelName { get; init; }

    /// <summary>A specific version, or null for the model's default (its highest ready version).</summary>
    public string? ModelVersion { get; init; }

    /// <summary>The client's request id, echoed in the response.</summary>
    public string? Id { get; init; }

    public required IReadOnlyList<NamedTensor> Inputs { get; init; }

    /// <summary>The outputs to return; empty means every output of the model.</summary>
    public IReadOnlyList<RequestedOutput> Outputs { get; init; } = [];

    /// <summary>Request parameters (bool, long, double or string values), e.g. <c>priority</c>, <c>timeout</c>.</summary>
    public IReadOnlyDictionary<string, object> Parameters { get; init; } = EmptyParameters;

    internal static readonly IReadOnlyDictionary<string, object> EmptyParameters = new Dictionary<string, object>();
}
