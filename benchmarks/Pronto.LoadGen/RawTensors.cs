using Pronto.Core.Errors;
using Pronto.Core.Protocol;
using Pronto.Core.Tensors;

namespace Pronto.LoadGen;

/// <summary>Output tensors in the raw layout that binary HTTP responses and gRPC raw_output_contents share.</summary>
internal static class RawTensors
{
    /// <summary>A tensor over <paramref name="data"/> (sliced, not copied), checked against the datatype and shape.</summary>
    public static Tensor Read(string name, string? datatype, long[] shape, ReadOnlyMemory<byte> data)
    {
        var type = ParseDatatype(name, datatype);
        return type == DataType.Bytes
            ? Tensor.FromStrings(BinaryTensors.SplitStrings(name, data, Tensor.CountElements(shape), "in the response"), shape)
            : Tensor.FromBytes(type, data, shape);
    }

    public static DataType ParseDatatype(string name, string? datatype) =>
        DataTypes.TryParseProtocolName(datatype, out var type)
            ? type
            : ProntoErrors.InvalidArgument<DataType>($"output '{name}' has unknown datatype '{datatype}'");
}
