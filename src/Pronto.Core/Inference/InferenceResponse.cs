namespace Pronto.Core.Inference;

/// <summary>The result of one inference: the outputs asked for, in the order asked.</summary>
public sealed class InferenceResponse
{
    public required string ModelName { get; init; }

    public required string ModelVersion { get; init; }

    public string? Id { get; init; }

    public required IReadOnlyList<NamedTensor> Outputs { get; init; }

    public IReadOnlyDictionary<string, object> Parameters { get; init; } = InferenceRequest.EmptyParameters;
}
