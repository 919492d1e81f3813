using System.Buffers;
using System.Buffers.Binary;
using Pronto.Core.Errors;
using Pronto.Core.Tensors;

namespace Pronto.Core.Protocol;

/// <summary>
/// The layout of the binary tensor extension: fixed-size tensors as their raw little-endian elements,
/// BYTES tensors as a 4-byte little-endian length then the bytes, per element.
/// </summary>
public static class BinaryTensors
{
    private const int LengthPrefix = sizeof(uint);

    /// <summary>
    /// Splits a binary BYTES tensor into its elements, each a slice of <paramref name="data"/> (no copy).
    /// <paramref name="region"/> names where the bytes came from in messages, e.g. "within binary_data_size".
    /// </summary>
    public static ReadOnlyMemory<byte>[] SplitStrings(string name, ReadOnlyMemory<byte> data, long count, string region = "within binary_data_size")
    {
        // Each element takes at least its length prefix: check before allocating count slots.
        if (count > data.Length / LengthPrefix)
        {
            ProntoErrors.InvalidArgument(
                $"input '{name}': {count} BYTES elements need at least {(Int128)count * LengthPrefix} bytes (a 4-byte length each), got {data.Length}");
        }

        var elements = new ReadOnlyMemory<byte>[count];
        var span = data.Span;
        var offset = 0;
        for (var i = 0; i < elements.Length; i++)
        {
            if (span.Length - offset < LengthPrefix)
            {
                ProntoErrors.InvalidArgument($"input '{name}': BYTES element {i} has no room for its 4-byte length ({span.Length - offset} bytes remain)");
            }

            var length = BinaryPrimitives.ReadUInt32LittleEndian(span[offset..]);
            offset += LengthPrefix;
            if (length > (uint)(span.Length - offset))
            {
                ProntoErrors.InvalidArgument($"input '{name}': BYTES element {i} declares {length} bytes but only {span.Length - offset} remain");
            }

            elements[i] = data.Slice(offset, (int)length);
            offset += (int)length;
        }

        if (offset != span.Length)
        {
            ProntoErrors.InvalidArgument($"input '{name}': {span.Length - offset} bytes follow its {count} BYTES elements {region}");
        }

        return elements;
    }

    /// <summary>A .NET bool must be 0 or 1: any other byte would be a value no comparison expects.</summary>
    public static void CheckBools(string name, ReadOnlySpan<byte> data)
    {
        var bad = data.IndexOfAnyExceptInRange((byte)0, (byte)1);
        if (bad >= 0)
        {
            ProntoErrors.InvalidArgument($"input '{name}': BOOL element {bad} is byte {data[bad]}; binary BOOL elements must be 0 or 1");
        }
    }

    /// <summary>Bytes <paramref name="tensor"/> takes in the binary layout.</summary>
    public static long Size(Tensor tensor)
    {
        if (tensor.DataType != DataType.Bytes)
        {
            return tensor.Data.Length;
        }

        long size = 0;
        foreach (var element in tensor.Strings)
        {
            size += LengthPrefix + element.Length;
        }

        return size;
    }

    /// <summary>Appends <paramref name="tensor"/> in the binary layout.</summary>
    public static void Write(IBufferWriter<byte> writer, Tensor tensor)
    {
        if (tensor.DataType != DataType.Bytes)
        {
            writer.Write(tensor.Data.Span);
            return;
        }

        foreach (var element in tensor.Strings)
        {
            var span = writer.GetSpan(LengthPrefix);
            BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)element.Length);
            writer.Advance(LengthPrefix);
            writer.Write(element.Span);
        }
    }

    /// <summary>Writes a BYTES <paramref name="tensor"/> in the binary layout into a new array of exactly <see cref="Size"/> bytes.</summary>
    public static byte[] ToArray(Tensor tensor)
    {
        var buffer = new byte[Size(tensor)];
        var offset = 0;
        foreach (var element in tensor.Strings)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(offset), (uint)element.Length);
            offset += LengthPrefix;
            element.Span.CopyTo(buffer.AsSpan(offset));
            offset += element.Length;
        }

        return buffer;
    }
}
