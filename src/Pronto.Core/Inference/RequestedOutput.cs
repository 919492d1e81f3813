namespace Pronto.Core.Inference;

/// <summary>
/// An output a request asks for. <see cref="Classification"/> &gt; 0 asks for the classification
/// extension: the top-k as BYTES <c>"score:index:label"</c> instead of the raw tensor.
/// <see cref="Binary"/> asks a transport that supports it to return the tensor as raw bytes.
/// </summary>
public sealed record RequestedOutput(string Name, int Classification = 0, bool Binary = false);
