using System.Text;
using Pronto.Core.Errors;
using Pronto.Core.Tensors;

namespace Pronto.Core.Processing;

/// <summary>Checks and reads the BYTES tensor of raw items a preparer receives.</summary>
internal static class PreparerItems
{
    /// <summary>UTF-8 that throws on invalid bytes instead of substituting U+FFFD.</summary>
    public static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static IReadOnlyList<ReadOnlyMemory<byte>> Read(Tensor items, string inputName)
    {
        if (items.DataType != DataType.Bytes)
        {
            ProntoErrors.InvalidArgument($"input '{inputName}' must be BYTES, got {items.DataType.ToProtocolName()}");
        }

        var shape = items.Shape;
        var ok = shape.Length == 1 || (shape.Length == 2 && shape[1] == 1);
        if (!ok || shape[0] == 0)
        {
            ProntoErrors.InvalidArgument($"input '{inputName}' must have shape [n] or [n,1] with n >= 1, got [{string.Join(",", shape)}]");
        }

        return items.Strings;
    }
}
