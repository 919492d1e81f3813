using Pronto.Core.Inference;

namespace Pronto.LoadGen;

/// <summary>What one request got back: an error message, or success with the outputs when they were decoded.</summary>
public readonly record struct InferenceReply(string? Error, IReadOnlyList<NamedTensor>? Outputs)
{
    /// <summary>Success, outputs not decoded.</summary>
    public static InferenceReply Success => default;

    public bool Succeeded => Error is null;

    public static InferenceReply Failed(string error) => new(error, null);

    public static InferenceReply Decoded(IReadOnlyList<NamedTensor> outputs) => new(null, outputs);
}
