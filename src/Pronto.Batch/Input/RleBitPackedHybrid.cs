using System.Buffers.Binary;
using System.Numerics;

namespace Pronto.Batch.Input;

/// <summary>
/// Parquet's RLE / bit-packed hybrid encoding (definition levels, dictionary indices, RLE booleans): runs, each a
/// varint header; header &amp; 1 == 0: header &gt;&gt; 1 copies of one value stored in ceil(width / 8) little-endian
/// bytes; header &amp; 1 == 1: header &gt;&gt; 1 groups of 8 values bit-packed LSB first.
/// </summary>
internal static class RleBitPackedHybrid
{
    /// <summary>
    /// Decodes <paramref name="output"/>.Length values of <paramref name="bitWidth"/> (0 to 32) bits from the start
    /// of <paramref name="data"/>; bytes after them are ignored.
    /// </summary>
    /// <exception cref="InvalidDataException">The data ends before the values do, or a run's value is wider than <paramref name="bitWidth"/>.</exception>
    public static void Decode<T>(ReadOnlySpan<byte> data, int bitWidth, Span<T> output)
        where T : unmanaged, IBinaryInteger<T>
    {
        var byteWidth = (bitWidth + 7) >> 3;
        var position = 0;
        var n = 0;
        while (n < output.Length)
        {
            var header = ReadVarint(data, ref position);
            var count = header >> 1;
            if ((header & 1) == 0)
            {
                if (byteWidth > data.Length - position)
                {
                    throw new InvalidDataException($"an RLE run's value runs past the end of its {data.Length} bytes");
                }

                var value = 0u;
                for (var b = 0; b < byteWidth; b++)
                {
                    value |= (uint)data[position + b] << (8 * b);
                }

                position += byteWidth;
                if (bitWidth < 32 && value >> bitWidth != 0)
                {
                    throw new InvalidDataException($"an RLE run repeats {value}, wider than {bitWidth} bits");
                }

                var take = (int)Math.Min(count, (uint)(output.Length - n));
                output.Slice(n, take).Fill(T.CreateTruncating(value));
                n += take;
            }
            else
            {
                // Writers may leave out the padding bytes of the last group: only the values needed must be there.
                var bytes = (int)Math.Min((long)count * bitWidth, data.Length - position);
                var take = (int)Math.Min(count * 8L, output.Length - n);
                if ((long)take * bitWidth > bytes * 8L)
                {
                    throw new InvalidDataException($"a bit-packed run of {take} values runs past the end of its {data.Length} bytes");
                }

                Unpack(data.Slice(position, bytes), bitWidth, output.Slice(n, take));
                position += bytes;
                n += take;
            }
        }
    }

    private static void Unpack<T>(ReadOnlySpan<byte> data, int bitWidth, Span<T> output)
        where T : unmanaged, IBinaryInteger<T>
    {
        if (bitWidth == 1)
        {
            for (var i = 0; i < output.Length; i++)
            {
                output[i] = T.CreateTruncating((data[i >> 3] >> (i & 7)) & 1);
            }

            return;
        }

        var mask = bitWidth == 32 ? uint.MaxValue : (1u << bitWidth) - 1;
        long bit = 0;
        for (var i = 0; i < output.Length; i++, bit += bitWidth)
        {
            // A 64-bit window holds any value of up to 32 bits at a shift of up to 7.
            var at = (int)(bit >> 3);
            var window = at + 8 <= data.Length ? BinaryPrimitives.ReadUInt64LittleEndian(data[at..]) : Tail(data, at);
            output[i] = T.CreateTruncating((uint)(window >> (int)(bit & 7)) & mask);
        }
    }

    private static ulong Tail(ReadOnlySpan<byte> data, int at)
    {
        ulong window = 0;
        for (var b = 0; at + b < data.Length && b < 8; b++)
        {
            window |= (ulong)data[at + b] << (8 * b);
        }

        return window;
    }

    private static uint ReadVarint(ReadOnlySpan<byte> data, ref int position)
    {
        uint value = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            if (position >= data.Length)
            {
                throw new InvalidDataException($"a run header runs past the end of its {data.Length} bytes");
            }

            var b = data[position++];
            value |= (uint)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw new InvalidDataException("a run header is longer than 5 bytes");
    }
}
