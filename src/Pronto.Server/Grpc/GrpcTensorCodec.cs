using Google.Protobuf;
using Google.Protobuf.Collections;
using Pronto.Core.Errors;
using Pronto.Core.Protocol;
using Pronto.Core.Tensors;
using Pronto.Server.Grpc.Protocol;
using DataType = Pronto.Core.Tensors.DataType;

namespace Pronto.Server.Grpc;

/// <summary>
/// Tensor elements of the gRPC protocol: typed <see cref="InferTensorContents"/> and raw contents in, raw
/// contents out. Hot path: no LINQ, one copy at most per typed input, none for raw inputs and fixed-size outputs.
/// </summary>
/// <remarks>
/// Ownership: a tensor read from raw contents is a view of the request's <see cref="ByteString"/>; the request
/// message must outlive the inference (it does: the handler holds it until the call returns). A raw output
/// wraps the response tensor's memory, which nothing else holds once the response is built.
/// </remarks>
internal static class GrpcTensorCodec
{
    /// <summary>
    /// Reads typed contents of <paramref name="type"/>: every element in the one field the type uses, as many as
    /// the shape needs (<paramref name="count"/>); values must fit the type (300 is no UINT8).
    /// </summary>
    public static Tensor ReadTyped(string name, DataType type, long[] shape, long count, InferTensorContents? contents)
    {
        contents ??= EmptyContents;
        var field = FieldOf(name, type);
        CheckOnlyField(name, type, field, contents);
        switch (type)
        {
            case DataType.Bool:
                return Tensor.Create(Copy(name, contents.BoolContents, shape, count, field), shape);
            case DataType.UInt8:
            {
                var source = Checked(name, contents.UintContents, shape, count, field);
                var values = new byte[source.Count];
                for (var i = 0; i < values.Length; i++)
                {
                    var v = source[i];
                    values[i] = v <= byte.MaxValue ? (byte)v : OutOfRange<byte>(name, type, i, v);
                }

                return Tensor.Create(values, shape);
            }

            case DataType.UInt16:
            {
                var source = Checked(name, contents.UintContents, shape, count, field);
                var values = new ushort[source.Count];
                for (var i = 0; i < values.Length; i++)
                {
                    var v = source[i];
                    values[i] = v <= ushort.MaxValue ? (ushort)v : OutOfRange<ushort>(name, type, i, v);
                }

                return Tensor.Create(values, shape);
            }

            case DataType.UInt32:
                return Tensor.Create(Copy(name, contents.UintContents, shape, count, field), shape);
            case DataType.UInt64:
                return Tensor.Create(Copy(name, contents.Uint64Contents, shape, count, field), shape);
            case DataType.Int8:
            {
                var source = Checked(name, contents.IntContents, shape, count, field);
                var values = new sbyte[source.Count];
                for (var i = 0; i < values.Length; i++)
                {
                    var v = source[i];
                    values[i] = v is >= sbyte.MinValue and <= sbyte.MaxValue ? (sbyte)v : OutOfRange<sbyte>(name, type, i, v);
                }

                return Tensor.Create(values, shape);
            }

            case DataType.Int16:
            {
                var source = Checked(name, contents.IntContents, shape, count, field);
                var values = new short[source.Count];
                for (var i = 0; i < values.Length; i++)
                {
                    var v = source[i];
                    values[i] = v is >= short.MinValue and <= short.MaxValue ? (short)v : OutOfRange<short>(name, type, i, v);
                }

                return Tensor.Create(values, shape);
            }

            case DataType.Int32:
                return Tensor.Create(Copy(name, contents.IntContents, shape, count, field), shape);
            case DataType.Int64:
                return Tensor.Create(Copy(name, contents.Int64Contents, shape, count, field), shape);
            case DataType.FP32:
                return Tensor.Create(Copy(name, contents.Fp32Contents, shape, count, field), shape);
            case DataType.FP64:
                return Tensor.Create(Copy(name, contents.Fp64Contents, shape, count, field), shape);
            case DataType.Bytes:
            {
                var source = Checked(name, contents.BytesContents, shape, count, field);
                var elements = new ReadOnlyMemory<byte>[source.Count];
                for (var i = 0; i < elements.Length; i++)
                {
                    // A view of the request's bytes, not a copy (see the ownership remark).
                    elements[i] = source[i].Memory;
                }

                return Tensor.FromStrings(elements, shape);
            }

            default:
                throw new InvalidOperationException($"{type} has no typed contents"); // FieldOf refused it already
        }
    }

    /// <summary>
    /// Reads raw contents: fixed-size elements as little-endian bytes, exactly count x element size of them;
    /// BYTES as a 4-byte little-endian length then the bytes, per element. No copy: the tensor views <paramref name="raw"/>.
    /// </summary>
    public static Tensor ReadRaw(string name, int index, DataType type, long[] shape, long count, ByteString raw)
    {
        var data = raw.Memory;
        if (type == DataType.Bytes)
        {
            return Tensor.FromStrings(BinaryTensors.SplitStrings(name, data, count, $"in raw_input_contents[{index}]"), shape);
        }

        var size = type.ElementSize();
        if (count * size != data.Length)
        {
            ProntoErrors.InvalidArgument(
                $"input '{name}': raw_input_contents[{index}] has {data.Length} bytes; {type.ToProtocolName()} {FormatShape(shape)} needs {count * size} ({count} elements of {size} bytes)");
        }

        if (type == DataType.Bool)
        {
            // A .NET bool must be 0 or 1: any other byte would be a value no comparison expects.
            var bad = data.Span.IndexOfAnyExceptInRange((byte)0, (byte)1);
            if (bad >= 0)
            {
                ProntoErrors.InvalidArgument($"input '{name}': BOOL element {bad} is byte {data.Span[bad]}; raw BOOL elements must be 0 or 1");
            }
        }

        return Tensor.FromBytes(type, data, shape);
    }

    /// <summary>The raw layout of <paramref name="tensor"/>: its own memory for fixed-size types (no copy), length-prefixed elements for BYTES.</summary>
    public static ByteString WriteRaw(Tensor tensor)
    {
        if (tensor.DataType != DataType.Bytes)
        {
            return UnsafeByteOperations.UnsafeWrap(tensor.Data);
        }

        // The array is new and never written again: wrapping it saves ByteString.CopyFrom's second copy.
        var buffer = BinaryTensors.ToArray(tensor);
        return UnsafeByteOperations.UnsafeWrap(buffer);
    }

    /// <summary>True when any typed field holds an element.</summary>
    public static bool HasElements(InferTensorContents? c) => c is not null && (c.BoolContents.Count > 0 || c.IntContents.Count > 0
        || c.Int64Contents.Count > 0 || c.UintContents.Count > 0 || c.Uint64Contents.Count > 0 || c.Fp32Contents.Count > 0
        || c.Fp64Contents.Count > 0 || c.BytesContents.Count > 0);

    public static string FormatShape(long[] shape) => Shapes.Format(shape);

    private static readonly InferTensorContents EmptyContents = new();

    private static string FieldOf(string name, DataType type) => type switch
    {
        DataType.Bool => "bool_contents",
        DataType.UInt8 or DataType.UInt16 or DataType.UInt32 => "uint_contents",
        DataType.UInt64 => "uint64_contents",
        DataType.Int8 or DataType.Int16 or DataType.Int32 => "int_contents",
        DataType.Int64 => "int64_contents",
        DataType.FP32 => "fp32_contents",
        DataType.FP64 => "fp64_contents",
        DataType.Bytes => "bytes_contents",
        _ => ProntoErrors.InvalidArgument<string>(
            $"input '{name}': {type.ToProtocolName()} has no typed contents; send its little-endian bytes in raw_input_contents"),
    };

    /// <summary>Elements in a field the datatype does not use are a client's mistake, not something to ignore.</summary>
    private static void CheckOnlyField(string name, DataType type, string field, InferTensorContents c)
    {
        Other(c.BoolContents.Count, "bool_contents");
        Other(c.IntContents.Count, "int_contents");
        Other(c.Int64Contents.Count, "int64_contents");
        Other(c.UintContents.Count, "uint_contents");
        Other(c.Uint64Contents.Count, "uint64_contents");
        Other(c.Fp32Contents.Count, "fp32_contents");
        Other(c.Fp64Contents.Count, "fp64_contents");
        Other(c.BytesContents.Count, "bytes_contents");

        void Other(int count, string other)
        {
            if (count > 0 && other != field)
            {
                ProntoErrors.InvalidArgument($"input '{name}': a {type.ToProtocolName()} tensor takes its elements in {field}, got {other}");
            }
        }
    }

    private static RepeatedField<T> Checked<T>(string name, RepeatedField<T> source, long[] shape, long count, string field)
    {
        if (source.Count != count)
        {
            ProntoErrors.InvalidArgument($"input '{name}': shape {FormatShape(shape)} needs {count} elements, got {source.Count} in {field}");
        }

        return source;
    }

    private static T[] Copy<T>(string name, RepeatedField<T> source, long[] shape, long count, string field)
    {
        Checked(name, source, shape, count, field);
        var values = new T[source.Count];
        source.CopyTo(values, 0);
        return values;
    }

    private static T OutOfRange<T>(string name, DataType type, int index, long value) =>
        ProntoErrors.InvalidArgument<T>($"input '{name}': element {index} ({value}) does not fit {type.ToProtocolName()}");
}
