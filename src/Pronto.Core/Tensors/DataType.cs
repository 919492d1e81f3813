namespace Pronto.Core.Tensors;

/// <summary>
/// The element types of the Open Inference Protocol v2 (KServe / Triton). The names the protocol uses
/// on the wire are given by <see cref="DataTypes.ToProtocolName"/>; Triton's config names
/// (<c>TYPE_FP32</c>, <c>TYPE_STRING</c>) by <see cref="DataTypes.ToConfigName"/>.
/// </summary>
public enum DataType : byte
{
    Invalid = 0,
    Bool,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Int8,
    Int16,
    Int32,
    Int64,
    FP16,
    FP32,
    FP64,
    /// <summary>Variable-length byte strings, one per element (UTF-8 text, an encoded image, ...).</summary>
    Bytes,
    BF16,
}
