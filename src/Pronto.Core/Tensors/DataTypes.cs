using System.Diagnostics.CodeAnalysis;

namespace Pronto.Core.Tensors;

/// <summary>Names, sizes and .NET types of <see cref="DataType"/>.</summary>
public static class DataTypes
{
    private static readonly string[] ProtocolNames =
        ["INVALID", "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES", "BF16"];

    /// <summary>Size of one element in bytes; 0 for <see cref="DataType.Bytes"/>, whose elements vary in length.</summary>
    public static int ElementSize(this DataType type) => type switch
    {
        DataType.Bool or DataType.UInt8 or DataType.Int8 => 1,
        DataType.UInt16 or DataType.Int16 or DataType.FP16 or DataType.BF16 => 2,
        DataType.UInt32 or DataType.Int32 or DataType.FP32 => 4,
        DataType.UInt64 or DataType.Int64 or DataType.FP64 => 8,
        _ => 0,
    };

    /// <summary>The protocol's name of the type: <c>FP32</c>, <c>BYTES</c>, ...</summary>
    public static string ToProtocolName(this DataType type) => ProtocolNames[(int)type];

    /// <summary>Triton's model-config name of the type: <c>TYPE_FP32</c>, <c>TYPE_STRING</c> for BYTES.</summary>
    public static string ToConfigName(this DataType type) =>
        type == DataType.Bytes ? "TYPE_STRING" : "TYPE_" + ProtocolNames[(int)type];

    /// <summary>Parses a protocol name (<c>FP32</c>), case-sensitively as the protocol spells it.</summary>
    public static bool TryParseProtocolName(string? name, out DataType type)
    {
        for (var i = 1; i < ProtocolNames.Length; i++)
        {
            if (string.Equals(ProtocolNames[i], name, StringComparison.Ordinal))
            {
                type = (DataType)i;
                return true;
            }
        }

        type = DataType.Invalid;
        return false;
    }

    /// <summary>Parses a Triton config name (<c>TYPE_FP32</c>, <c>TYPE_STRING</c>).</summary>
    public static bool TryParseConfigName(string? name, out DataType type)
    {
        type = DataType.Invalid;
        if (name is null || !name.StartsWith("TYPE_", StringComparison.Ordinal))
        {
            return false;
        }

        var rest = name[5..];
        if (rest == "STRING")
        {
            type = DataType.Bytes;
            return true;
        }

        return rest != "BYTES" && TryParseProtocolName(rest, out type);
    }

    /// <summary>The protocol type of a .NET element type, for the types that have one.</summary>
    public static bool TryFromClrType(Type clrType, out DataType type)
    {
        type = Type.GetTypeCode(clrType) switch
        {
            TypeCode.Boolean => DataType.Bool,
            TypeCode.Byte => DataType.UInt8,
            TypeCode.UInt16 => DataType.UInt16,
            TypeCode.UInt32 => DataType.UInt32,
            TypeCode.UInt64 => DataType.UInt64,
            TypeCode.SByte => DataType.Int8,
            TypeCode.Int16 => DataType.Int16,
            TypeCode.Int32 => DataType.Int32,
            TypeCode.Int64 => DataType.Int64,
            TypeCode.Single => DataType.FP32,
            TypeCode.Double => DataType.FP64,
            _ => clrType == typeof(Half) ? DataType.FP16 : DataType.Invalid,
        };
        return type != DataType.Invalid;
    }

    /// <summary>The .NET element type that holds one element of <paramref name="type"/>; BF16 is held as its raw <see cref="ushort"/> bits.</summary>
    public static bool TryGetClrType(this DataType type, [NotNullWhen(true)] out Type? clrType)
    {
        clrType = type switch
        {
            DataType.Bool => typeof(bool),
            DataType.UInt8 => typeof(byte),
            DataType.UInt16 => typeof(ushort),
            DataType.UInt32 => typeof(uint),
            DataType.UInt64 => typeof(ulong),
            DataType.Int8 => typeof(sbyte),
            DataType.Int16 => typeof(short),
            DataType.Int32 => typeof(int),
            DataType.Int64 => typeof(long),
            DataType.FP16 => typeof(Half),
            DataType.BF16 => typeof(ushort),
            DataType.FP32 => typeof(float),
            DataType.FP64 => typeof(double),
            _ => null,
        };
        return clrType is not null;
    }

    /// <summary>FP16 and BF16 have no JSON form in the protocol: they travel as binary tensors only.</summary>
    public static bool HasJsonForm(this DataType type) => type is not (DataType.FP16 or DataType.BF16);
}
