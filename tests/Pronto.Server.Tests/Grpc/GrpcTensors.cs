using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Pronto.Server.Tests.GrpcClient;

namespace Pronto.Server.Tests.Grpc;

/// <summary>Builds and reads raw contents the way a client does: little-endian elements, BYTES length-prefixed.</summary>
internal static class GrpcTensors
{
    public static ByteString Raw<T>(T[] values) where T : unmanaged => ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));

    public static ByteString RawStrings(params byte[][] elements)
    {
        var buffer = new MemoryStream();
        Span<byte> length = stackalloc byte[4];
        foreach (var element in elements)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)element.Length);
            buffer.Write(length);
            buffer.Write(element);
        }

        return ByteString.CopyFrom(buffer.ToArray());
    }

    public static float[] Floats(ByteString raw) => MemoryMarshal.Cast<byte, float>(raw.Span).ToArray();

    public static List<string> Strings(ByteString raw)
    {
        var span = raw.Span;
        var strings = new List<string>();
        while (span.Length > 0)
        {
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(span);
            strings.Add(System.Text.Encoding.UTF8.GetString(span.Slice(4, length)));
            span = span[(4 + length)..];
        }

        return strings;
    }

    public static ModelInferRequest.Types.InferInputTensor Input(string name, string datatype, params long[] shape)
    {
        var input = new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = datatype };
        input.Shape.Add(shape);
        return input;
    }
}
