using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Pronto.Core.Tensors;
using Pronto.Testing;

namespace Pronto.ModelGen;

/// <summary>
/// Open Inference Protocol v2 request bodies of one FP32 input filled from <see cref="GeneratedInputs"/> (so a resnet18
/// body holds the image Pronto.RawBench runs): <c>NAME.json</c>, the binary tensor extension <c>NAME.bin</c> (JSON header,
/// then the raw little-endian floats) and <c>NAME.bin.json-length</c>, the header's length for
/// <c>Inference-Header-Content-Length</c>.
/// </summary>
internal static class RequestBodies
{
    public static IReadOnlyDictionary<string, (string Input, long[] Shape)> Models { get; } = new Dictionary<string, (string, long[])>(StringComparer.Ordinal)
    {
        // One 224 x 224 RGB image: 602,112 bytes raw, about 1.6 MB as JSON, so it is generated rather than committed.
        ["resnet18"] = ("Input247", [1, 3, 224, 224]),
        ["identity"] = ("x", [1, 16]),
    };

    public static void Write(string folder, string model)
    {
        var (input, shape) = Models[model];
        var values = GeneratedInputs.Floats(Tensor.CountElements(shape));
        var raw = MemoryMarshal.AsBytes(values.AsSpan());
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, model);
        File.WriteAllBytes(path + ".json", [.. Json(input, shape, values), .. "\n"u8]);

        var header = Json(input, shape, null);
        File.WriteAllBytes(path + ".bin", [.. header, .. raw]);
        File.WriteAllText(path + ".bin.json-length", header.Length.ToString(CultureInfo.InvariantCulture) + "\n");
    }

    /// <summary>The request JSON: with <paramref name="values"/> as its data, or else announcing them as binary data.</summary>
    private static byte[] Json(string input, long[] shape, float[]? values)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("inputs");
            json.WriteStartObject();
            json.WriteString("name", input);
            json.WriteStartArray("shape");
            foreach (var dim in shape)
            {
                json.WriteNumberValue(dim);
            }

            json.WriteEndArray();
            json.WriteString("datatype", "FP32");
            if (values is null)
            {
                json.WriteStartObject("parameters");
                json.WriteNumber("binary_data_size", Tensor.CountElements(shape) * sizeof(float));
                json.WriteEndObject();
            }
            else
            {
                json.WriteStartArray("data");
                foreach (var value in values)
                {
                    json.WriteNumberValue(value);
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
