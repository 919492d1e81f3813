namespace Pronto.Models.Finetune;

/// <summary>
/// One labeled example: the base model's raw item (UTF-8 text for minilm, encoded image bytes for resnet18) and its
/// class. <paramref name="Source"/> names where it came from (an image path or "row 12") for error messages.
/// </summary>
public sealed record FinetuneExample(ReadOnlyMemory<byte> Item, string Label, string Source);
