namespace Pronto.Core.Protocol;

/// <summary>
/// Bounds on what one JSON inference request may make the server do. A request body is untrusted: these
/// keep a small body from costing deep recursion or a large allocation (TF Serving's unbounded JSON
/// recursion was CVE-2025-0649). The body size itself is the transport's to cap.
/// </summary>
public sealed class JsonLimits
{
    /// <summary>Default <see cref="MaxDepth"/>: the request envelope takes 4 levels, leaving <c>data</c> 28 levels of nesting.</summary>
    public const int DefaultMaxDepth = 32;

    /// <summary>Default <see cref="MaxTensorElements"/>: 16M elements, 64 MB of FP32, far past what anyone sends as JSON.</summary>
    public const long DefaultMaxTensorElements = 16_777_216;

    /// <summary>Default <see cref="MaxTotalElements"/>: 64M elements over all inputs of one request.</summary>
    public const long DefaultMaxTotalElements = 67_108_864;

    /// <summary>Default <see cref="MaxInputs"/> and <see cref="MaxOutputs"/>.</summary>
    public const int DefaultMaxTensors = 256;

    /// <summary>Default <see cref="MaxRank"/>.</summary>
    public const int DefaultMaxRank = 64;

    /// <summary>The limits a server uses unless configured otherwise.</summary>
    public static JsonLimits Default { get; } = new();

    /// <summary>
    /// Deepest nesting of JSON containers, counting the envelope: the request object, <c>inputs</c>, the
    /// input object and the <c>data</c> array are 4 levels, so a rank-3 nested <c>data</c> needs 6.
    /// </summary>
    public int MaxDepth { get; init; } = DefaultMaxDepth;

    /// <summary>Most elements one JSON-encoded input may declare. Binary inputs are bounded by the body size instead.</summary>
    public long MaxTensorElements { get; init; } = DefaultMaxTensorElements;

    /// <summary>Most elements all JSON-encoded inputs of one request may declare together.</summary>
    public long MaxTotalElements { get; init; } = DefaultMaxTotalElements;

    /// <summary>Most entries in <c>inputs</c>.</summary>
    public int MaxInputs { get; init; } = DefaultMaxTensors;

    /// <summary>Most entries in <c>outputs</c>.</summary>
    public int MaxOutputs { get; init; } = DefaultMaxTensors;

    /// <summary>Most dimensions in one <c>shape</c>.</summary>
    public int MaxRank { get; init; } = DefaultMaxRank;

    internal void Validate()
    {
        // A zero or negative limit is a configuration mistake, not a client's: fail loudly at the call.
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDepth, 4, nameof(MaxDepth));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxTensorElements, nameof(MaxTensorElements));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxTensorElements, Array.MaxLength, nameof(MaxTensorElements)); // one .NET array holds a tensor
        ArgumentOutOfRangeException.ThrowIfNegative(MaxTotalElements, nameof(MaxTotalElements));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxInputs, nameof(MaxInputs));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxOutputs, nameof(MaxOutputs));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxRank, nameof(MaxRank));
    }
}
