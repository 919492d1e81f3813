using Pronto.Core.Tensors;

namespace Pronto.Core.Inference;

/// <summary>A tensor with the name of the model input or output it belongs to.</summary>
public sealed record NamedTensor(string Name, Tensor Tensor);
