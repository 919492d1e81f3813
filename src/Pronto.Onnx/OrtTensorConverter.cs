using System.Buffers;
using Microsoft.ML.OnnxRuntime;
using Pronto.Core.Tensors;

namespace Pronto.Onnx;

/// <summary>
/// Converts between <see cref="Tensor"/> and <see cref="OrtValue"/>. Fixed-size inputs are not copied:
/// the OrtValue points at the tensor's pinned memory.
/// </summary>
internal static class OrtTensorConverter
{
    // ORT refuses a null data pointer even for zero bytes; zero-element tensors point here instead.
    private static readonly byte[] EmptyBuffer = GC.AllocateArray<byte>(8, pinned: true);

    /// <summary>
    /// Wraps <paramref name="tensor"/> as an OrtValue. For fixed-size types the value aliases the tensor's
    /// memory, which stays pinned through <paramref name="pin"/>: the caller disposes the value first, then
    /// the pin, and only after the run that reads it has returned.
    /// </summary>
    public static unsafe OrtValue ToOrtValue(Tensor tensor, out MemoryHandle pin)
    {
        var shape = tensor.Shape.IsDefaultOrEmpty ? [] : tensor.Shape.ToArray();
        if (tensor.DataType == DataType.Bytes)
        {
            pin = default;
            var value = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, shape);
            try
            {
                var strings = tensor.Strings;
                for (var i = 0; i < strings.Count; i++)
                {
                    value.StringTensorSetElementAt(strings[i].Span, i);
                }

                return value;
            }
            catch
            {
                value.Dispose();
                throw;
            }
        }

        var data = tensor.Data;
        pin = data.Length == 0 ? EmptyBuffer.AsMemory().Pin() : data.Pin();
        return OrtValue.CreateTensorValueWithData(
            OrtMemoryInfo.DefaultInstance,
            OnnxTypes.ToElementType(tensor.DataType),
            shape,
            (IntPtr)pin.Pointer,
            data.Length);
    }

    /// <summary>Copies an output OrtValue into a new tensor the caller owns.</summary>
    public static Tensor ToTensor(OrtValue value)
    {
        if (!value.IsTensor)
        {
            throw new NotSupportedException($"the model returned a {value.OnnxType} value; only tensors are supported");
        }

        var info = value.GetTensorTypeAndShape();
        var type = OnnxTypes.ToDataType(info.ElementDataType);
        var shape = info.Shape;
        if (type == DataType.Bytes)
        {
            var count = checked((int)info.ElementCount);
            var elements = new ReadOnlyMemory<byte>[count];
            for (var i = 0; i < count; i++)
            {
                elements[i] = value.GetStringElementAsSpan(i).ToArray();
            }

            return Tensor.FromStrings(elements, shape);
        }

        if (type == DataType.Invalid)
        {
            throw new NotSupportedException($"the model returned element type {info.ElementDataType}, which has no protocol datatype");
        }

        return Tensor.FromBytes(type, value.GetTensorMutableRawData().ToArray(), shape);
    }
}
