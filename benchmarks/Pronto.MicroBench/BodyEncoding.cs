namespace Pronto.MicroBench;

/// <summary>How a request or response body carries its tensors.</summary>
public enum BodyEncoding
{
    /// <summary>JSON only: tensors as <c>data</c> arrays.</summary>
    Json,

    /// <summary>The binary tensor extension: a JSON header (Inference-Header-Content-Length), then the raw tensors.</summary>
    Binary,
}
