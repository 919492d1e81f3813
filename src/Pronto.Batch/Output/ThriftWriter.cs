using System.Buffers;
using System.Text;

namespace Pronto.Batch.Output;

/// <summary>
/// Writes Thrift compact protocol structs (Parquet's page headers and footer) into a buffer: field headers with
/// delta-encoded ids, zigzag varint integers, length-prefixed binary, list headers, nested structs.
/// </summary>
internal sealed class ThriftWriter(ArrayBufferWriter<byte> output)
{
    private readonly Stack<short> _outer = new();
    private short _last;

    public ArrayBufferWriter<byte> Output { get; } = output;

    public void I32(short id, int value)
    {
        Field(id, ThriftCompact.I32);
        ThriftCompact.WriteInteger(Output, value);
    }

    public void I64(short id, long value)
    {
        Field(id, ThriftCompact.I64);
        ThriftCompact.WriteInteger(Output, value);
    }

    public void Bool(short id, bool value) => Field(id, value ? ThriftCompact.BoolTrue : ThriftCompact.BoolFalse);

    public void String(short id, string value)
    {
        Field(id, ThriftCompact.Binary);
        StringElement(value);
    }

    /// <summary>A list field of <paramref name="count"/> elements of <paramref name="elementType"/>; the elements follow.</summary>
    public void List(short id, byte elementType, int count)
    {
        Field(id, ThriftCompact.List);
        ThriftCompact.WriteListHeader(Output, elementType, count);
    }

    public void I32Element(int value) => ThriftCompact.WriteInteger(Output, value);

    public void StringElement(string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        ThriftCompact.WriteVarint(Output, (uint)length);
        Output.Advance(Encoding.UTF8.GetBytes(value, Output.GetSpan(length)));
    }

    /// <summary>A struct field; its fields follow, then <see cref="End"/>.</summary>
    public void Struct(short id)
    {
        Field(id, ThriftCompact.Struct);
        Begin();
    }

    /// <summary>A struct that is a list element or the top-level value; its fields follow, then <see cref="End"/>.</summary>
    public void Begin()
    {
        _outer.Push(_last);
        _last = 0;
    }

    public void End()
    {
        Output.Write([ThriftCompact.Stop]);
        _last = _outer.Pop();
    }

    private void Field(short id, byte type)
    {
        var delta = id - _last;
        if (delta is > 0 and <= 15)
        {
            Output.Write([(byte)((delta << 4) | type)]);
        }
        else
        {
            Output.Write([type]);
            ThriftCompact.WriteInteger(Output, id);
        }

        _last = id;
    }
}
