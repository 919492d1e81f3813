using System.Buffers;
using System.Buffers.Binary;

namespace Pronto.Batch.Output;

/// <summary>
/// The few pieces of the Thrift compact protocol that <see cref="ParquetConcatenation"/> needs to rewrite a Parquet
/// footer: walk a value of any type (to copy it unchanged), read and write field headers, integers and list
/// headers. Values are copied as their bytes, so fields this code does not know (newer Parquet metadata) survive.
/// </summary>
internal ref struct ThriftCompact(ReadOnlySpan<byte> data)
{
    public const byte Stop = 0;
    public const byte BoolTrue = 1;
    public const byte BoolFalse = 2;
    public const byte Byte = 3;
    public const byte I16 = 4;
    public const byte I32 = 5;
    public const byte I64 = 6;
    public const byte Double = 7;
    public const byte Binary = 8;
    public const byte List = 9;
    public const byte Set = 10;
    public const byte Map = 11;
    public const byte Struct = 12;

    private readonly ReadOnlySpan<byte> _data = data;

    public int Position { get; private set; }

    public readonly ReadOnlySpan<byte> Slice(int from, int to) => _data[from..to];

    /// <summary>The next field of a struct: its type (<see cref="Stop"/> at the end) and id.</summary>
    public (byte Type, short Id) ReadFieldHeader(short previousId)
    {
        var header = ReadByte();
        var type = (byte)(header & 0x0F);
        if (type == Stop)
        {
            return (Stop, 0);
        }

        var delta = header >> 4;
        var id = delta != 0 ? (short)(previousId + delta) : (short)ZigZag(ReadVarint());
        return (type, id);
    }

    public (byte ElementType, int Count) ReadListHeader()
    {
        var header = ReadByte();
        var count = header >> 4;
        if (count == 15)
        {
            count = checked((int)ReadVarint());
        }

        return ((byte)(header & 0x0F), count);
    }

    public long ReadInteger() => ZigZag(ReadVarint());

    /// <summary>Steps over one value of <paramref name="type"/> (a whole struct, list or map with everything in it).</summary>
    public void Skip(byte type)
    {
        switch (type)
        {
            case BoolTrue:
            case BoolFalse:
                // A struct field's bool lives in its header; inside a list or map it is one byte (SkipElement).
                break;
            case Byte:
                Position++;
                break;
            case I16:
            case I32:
            case I64:
                ReadVarint();
                break;
            case Double:
                Position += 8;
                break;
            case Binary:
                {
                    // Not Position += ReadVarint(): that would add to the position read before the length.
                    var length = checked((int)ReadVarint());
                    Position += length;
                    break;
                }

            case List:
            case Set:
                {
                    var (element, count) = ReadListHeader();
                    for (var i = 0; i < count; i++)
                    {
                        SkipElement(element);
                    }

                    break;
                }

            case Map:
                {
                    var count = checked((int)ReadVarint());
                    if (count > 0)
                    {
                        var kinds = ReadByte();
                        for (var i = 0; i < count; i++)
                        {
                            SkipElement((byte)(kinds >> 4));
                            SkipElement((byte)(kinds & 0x0F));
                        }
                    }

                    break;
                }

            case Struct:
                {
                    short id = 0;
                    while (true)
                    {
                        var (fieldType, fieldId) = ReadFieldHeader(id);
                        if (fieldType == Stop)
                        {
                            break;
                        }

                        Skip(fieldType);
                        id = fieldId;
                    }

                    break;
                }

            default:
                throw new InvalidDataException($"Parquet footer: unknown Thrift compact type {type} at byte {Position}");
        }
    }

    private void SkipElement(byte type)
    {
        if (type is BoolTrue or BoolFalse)
        {
            Position++;
        }
        else
        {
            Skip(type);
        }
    }

    private byte ReadByte()
    {
        if (Position >= _data.Length)
        {
            throw new InvalidDataException("Parquet footer: unexpected end of the Thrift data");
        }

        return _data[Position++];
    }

    private ulong ReadVarint()
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = ReadByte();
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw new InvalidDataException("Parquet footer: a Thrift varint is longer than 10 bytes");
    }

    private static long ZigZag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);

    public static void WriteInteger(ArrayBufferWriter<byte> output, long value) => WriteVarint(output, (ulong)((value << 1) ^ (value >> 63)));

    /// <summary>An unsigned LEB128 varint: Thrift's lengths and sizes, Parquet's RLE / bit-packed run headers.</summary>
    public static void WriteVarint(ArrayBufferWriter<byte> output, ulong value)
    {
        var span = output.GetSpan(10);
        var n = 0;
        while (value >= 0x80)
        {
            span[n++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[n++] = (byte)value;
        output.Advance(n);
    }

    public static void WriteListHeader(ArrayBufferWriter<byte> output, byte elementType, int count)
    {
        if (count < 15)
        {
            output.Write([(byte)((count << 4) | elementType)]);
            return;
        }

        output.Write([(byte)(0xF0 | elementType)]);
        WriteVarint(output, (uint)count);
    }

    public static void WriteInt32LittleEndian(ArrayBufferWriter<byte> output, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(output.GetSpan(4), value);
        output.Advance(4);
    }
}
