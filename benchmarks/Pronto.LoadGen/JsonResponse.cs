using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Pronto.Core.Errors;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;

namespace Pronto.LoadGen;

/// <summary>
/// Decodes the outputs of a protocol JSON response: <c>data</c> flat or nested, FP numbers or the strings
/// <c>"NaN"</c> / <c>"Infinity"</c> / <c>"-Infinity"</c>, BYTES as strings or base64 (<c>content_type</c>), and
/// binary outputs (<c>binary_data_size</c>) from after the JSON, in output order. Not on the hot path: only
/// sampled responses are decoded.
/// </summary>
internal static class JsonResponse
{
    /// <summary>The outputs of <paramref name="body"/>, whose first <paramref name="jsonLength"/> bytes are JSON.</summary>
    public static NamedTensor[] Read(byte[] body, int jsonLength)
    {
        if ((uint)jsonLength > (uint)body.Length)
        {
            ProntoErrors.InvalidArgument($"{HttpTransport.HeaderLengthName} {jsonLength} is outside the body's {body.Length} bytes");
        }

        using var document = JsonDocument.Parse(body.AsMemory(0, jsonLength));
        if (!document.RootElement.TryGetProperty("outputs", out var list))
        {
            ProntoErrors.InvalidArgument("the response has no 'outputs'");
        }

        var outputs = new List<NamedTensor>();
        var offset = jsonLength;
        foreach (var output in list.EnumerateArray())
        {
            var name = Property(output, "name").GetString()!;
            var datatype = Property(output, "datatype").GetString();
            var shape = Property(output, "shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var parameters = output.TryGetProperty("parameters", out var p) ? p : default;
            Tensor tensor;
            if (parameters.ValueKind == JsonValueKind.Object && parameters.TryGetProperty("binary_data_size", out var size))
            {
                var length = size.GetInt32();
                if (length > body.Length - offset)
                {
                    ProntoErrors.InvalidArgument($"output '{name}' declares {length} binary bytes but {body.Length - offset} remain");
                }

                tensor = RawTensors.Read(name, datatype, shape, body.AsMemory(offset, length));
                offset += length;
            }
            else
            {
                var base64 = parameters.ValueKind == JsonValueKind.Object
                    && parameters.TryGetProperty("content_type", out var contentType) && contentType.GetString() == "base64";
                var elements = new List<JsonElement>();
                Flatten(Property(output, "data"), elements);
                tensor = FromJson(RawTensors.ParseDatatype(name, datatype), elements, shape, base64);
            }

            outputs.Add(new NamedTensor(name, tensor));
        }

        return [.. outputs];
    }

    private static JsonElement Property(JsonElement output, string name) =>
        output.TryGetProperty(name, out var value)
            ? value
            : ProntoErrors.InvalidArgument<JsonElement>($"a response output has no '{name}'");

    private static void Flatten(JsonElement data, List<JsonElement> elements)
    {
        if (data.ValueKind != JsonValueKind.Array)
        {
            elements.Add(data);
            return;
        }

        foreach (var item in data.EnumerateArray())
        {
            Flatten(item, elements);
        }
    }

    private static Tensor FromJson(DataType type, List<JsonElement> elements, long[] shape, bool base64) => type switch
    {
        DataType.Bool => Tensor.Create(Map(elements, e => e.GetBoolean()), shape),
        DataType.UInt8 => Tensor.Create(Map(elements, e => e.GetByte()), shape),
        DataType.UInt16 => Tensor.Create(Map(elements, e => e.GetUInt16()), shape),
        DataType.UInt32 => Tensor.Create(Map(elements, e => e.GetUInt32()), shape),
        DataType.UInt64 => Tensor.Create(Map(elements, e => e.GetUInt64()), shape),
        DataType.Int8 => Tensor.Create(Map(elements, e => e.GetSByte()), shape),
        DataType.Int16 => Tensor.Create(Map(elements, e => e.GetInt16()), shape),
        DataType.Int32 => Tensor.Create(Map(elements, e => e.GetInt32()), shape),
        DataType.Int64 => Tensor.Create(Map(elements, e => e.GetInt64()), shape),
        DataType.FP16 => Tensor.Create(Map(elements, e => (Half)Single(e)), shape),
        DataType.BF16 => Tensor.FromBytes(DataType.BF16, MemoryMarshal.AsBytes(Map(elements, BF16Bits).AsSpan()).ToArray(), shape),
        DataType.FP32 => Tensor.Create(Map(elements, Single), shape),
        DataType.FP64 => Tensor.Create(Map(elements, Double), shape),
        _ => Tensor.FromStrings(Map(elements, e => (ReadOnlyMemory<byte>)(base64 ? e.GetBytesFromBase64() : Encoding.UTF8.GetBytes(e.GetString()!))), shape),
    };

    private static T[] Map<T>(List<JsonElement> elements, Func<JsonElement, T> read)
    {
        var values = new T[elements.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = read(elements[i]);
        }

        return values;
    }

    // Non-finite values travel as strings, which float.Parse reads in the invariant culture.
    private static float Single(JsonElement e) =>
        e.ValueKind == JsonValueKind.String ? float.Parse(e.GetString()!, CultureInfo.InvariantCulture) : e.GetSingle();

    // BF16 is written as the float it holds, exactly: its bits are that float's top half.
    private static ushort BF16Bits(JsonElement e) => (ushort)(BitConverter.SingleToUInt32Bits(Single(e)) >> 16);

    private static double Double(JsonElement e) =>
        e.ValueKind == JsonValueKind.String ? double.Parse(e.GetString()!, CultureInfo.InvariantCulture) : e.GetDouble();
}
