using Pronto.Core.Inference;
using Pronto.Core.Tensors;

namespace Pronto.Core.Processing;

/// <summary>
/// The first step of an inference: turns raw items (UTF-8 text, encoded image bytes, JSON objects of named
/// fields) into the model's input tensors. A model that declares a preparer accepts a BYTES input of that
/// name holding one item per row, so clients need no preprocessing of their own.
/// </summary>
public interface IInputPreparer
{
    /// <summary>The BYTES input name this preparer reads: <c>text</c>, <c>image</c>, <c>fields</c>.</summary>
    string InputName { get; }

    /// <summary>What the items are, for messages and docs: "UTF-8 text", "encoded image (PNG, JPEG, ...)".</summary>
    string ItemDescription { get; }

    /// <summary>
    /// Prepares a batch: <paramref name="items"/> is a BYTES tensor of shape [n] or [n,1]; the result holds the
    /// model inputs with a leading dimension n. A bad item throws <see cref="Errors.ProntoException"/>
    /// (invalid argument) naming the item's index.
    /// </summary>
    IReadOnlyList<NamedTensor> Prepare(Tensor items);
}
