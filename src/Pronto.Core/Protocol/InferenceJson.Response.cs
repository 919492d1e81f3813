using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;

namespace Pronto.Core.Protocol;

/// <remarks>
/// Writing decisions:
/// <list type="bullet">
/// <item>FP32 and FP64 are written shortest round-trip; NaN and infinities, which JSON cannot hold, as the
/// strings <c>"NaN"</c>, <c>"Infinity"</c>, <c>"-Infinity"</c> (which the reader accepts back).</item>
/// <item>FP16 and BF16 outputs, when not binary, are written as the numbers they hold (widened to float, exactly).</item>
/// <item>BYTES outputs whose elements are all valid UTF-8 are JSON strings. If any element is not, the whole
/// output is written as base64 strings and says so with <c>"parameters":{"content_type":"base64"}</c>
/// (MLServer's convention): lossless and unambiguous, where Triton writes raw bytes that are not valid JSON.</item>
/// <item>Non-ASCII text is written as UTF-8, not <c>\u</c> escapes: the body is JSON for an API, not HTML.</item>
/// </list>
/// </remarks>
public static partial class InferenceJson
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // The default encoder escapes all non-ASCII and HTML-sensitive characters, which only an HTML page
        // embedding the JSON needs; a response body is read by a JSON parser.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// Writes <paramref name="response"/> as JSON, then appends, in output order, the binary tensors of the
    /// outputs named in <paramref name="binaryOutputs"/>: those carry <c>"parameters":{"binary_data_size":N}</c>
    /// instead of <c>data</c>.
    /// </summary>
    /// <returns>The JSON's length in bytes: <c>Inference-Header-Content-Length</c> when binary outputs follow it.</returns>
    public static int WriteResponse(IBufferWriter<byte> writer, InferenceResponse response, IReadOnlySet<string>? binaryOutputs = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(response);

        var anyBinary = false;
        int jsonLength;
        using (var json = new Utf8JsonWriter(writer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("model_name"u8, response.ModelName);
            json.WriteString("model_version"u8, response.ModelVersion);
            if (response.Id is not null)
            {
                json.WriteString("id"u8, response.Id);
            }

            if (response.Parameters.Count > 0)
            {
                json.WritePropertyName("parameters"u8);
                WriteParameters(json, response.Parameters);
            }

            json.WriteStartArray("outputs"u8);
            foreach (var output in response.Outputs)
            {
                var binary = binaryOutputs is not null && binaryOutputs.Contains(output.Name);
                anyBinary |= binary;
                WriteOutput(json, output, binary);
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.Flush();
            jsonLength = checked((int)json.BytesCommitted);
        }

        if (anyBinary)
        {
            foreach (var output in response.Outputs)
            {
                if (binaryOutputs!.Contains(output.Name))
                {
                    BinaryTensors.Write(writer, output.Tensor);
                }
            }
        }

        return jsonLength;
    }

    /// <summary>
    /// The outputs of <paramref name="response"/> to return as binary: those the request asked for with
    /// <c>binary_data</c> (or request-wide <c>binary_data_output</c>), or, when the request listed no
    /// outputs, every output if it said <c>binary_data_output</c>.
    /// </summary>
    public static IReadOnlySet<string> BinaryOutputs(JsonInferenceRequest request, InferenceResponse response)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(response);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var requested = request.Request.Outputs;
        if (requested.Count == 0)
        {
            if (request.BinaryDataOutput)
            {
                foreach (var output in response.Outputs)
                {
                    names.Add(output.Name);
                }
            }
        }
        else
        {
            foreach (var output in requested)
            {
                if (output.Binary)
                {
                    names.Add(output.Name);
                }
            }
        }

        return names;
    }

    /// <summary>Writes the protocol's error body, <c>{"error":"message"}</c>.</summary>
    public static void WriteError(IBufferWriter<byte> writer, string message)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(message);
        using var json = new Utf8JsonWriter(writer, WriterOptions);
        json.WriteStartObject();
        json.WriteString("error"u8, message);
        json.WriteEndObject();
    }

    private static void WriteOutput(Utf8JsonWriter json, NamedTensor output, bool binary)
    {
        var tensor = output.Tensor;
        json.WriteStartObject();
        json.WriteString("name"u8, output.Name);
        json.WriteString("datatype"u8, tensor.DataType.ToProtocolName());
        json.WriteStartArray("shape"u8);
        foreach (var dim in tensor.Shape)
        {
            json.WriteNumberValue(dim);
        }

        json.WriteEndArray();
        if (binary)
        {
            json.WriteStartObject("parameters"u8);
            json.WriteNumber("binary_data_size"u8, BinaryTensors.Size(tensor));
            json.WriteEndObject();
        }
        else if (tensor.DataType == DataType.Bytes && !AllUtf8(tensor.Strings))
        {
            json.WriteStartObject("parameters"u8);
            json.WriteString("content_type"u8, "base64"u8);
            json.WriteEndObject();
            json.WriteStartArray("data"u8);
            foreach (var element in tensor.Strings)
            {
                json.WriteBase64StringValue(element.Span);
            }

            json.WriteEndArray();
        }
        else
        {
            json.WriteStartArray("data"u8);
            WriteData(json, tensor);
            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    private static void WriteData(Utf8JsonWriter json, Tensor tensor)
    {
        switch (tensor.DataType)
        {
            case DataType.Bool:
                foreach (var v in tensor.Span<bool>())
                {
                    json.WriteBooleanValue(v);
                }

                break;
            case DataType.UInt8:
                foreach (var v in tensor.Span<byte>())
                {
                    json.WriteNumberValue(v);
                }

                break;
            case DataType.UInt16:
                foreach (var v in tensor.Span<ushort>())
                {
                    json.WriteNumberValue(v);
                }

                break;
            case DataType.UInt32:
                foreach (var v in tensor.Span<uint>())
                {
                    json.WriteNumberValue(v);
                }

                break;
            case DataType.UInt64:
                foreach (var v in tensor.Span<ulong>())
                {
                    json.WriteNumberValue(v);
                }

                break;
            case DataType.Int8:
                foreach (var v in tensor.Span<sbyte>())
                {
                    json.WriteNumberValue(v);
                }

                break;
            case DataType.Int16:
                foreach (var v in tensor.Span<short>())
                {
                    json.WriteNumberValue(v);
                }

                break;
            case DataType.Int32:
                foreach (var v in tensor.Span<int>())
                {
                    json.WriteNumberValue(v);
                }

                break;
            case DataType.Int64:
                foreach (var v in tensor.Span<long>())
                {
                    json.WriteNumberValue(v);
                }

                break;
            case DataType.FP16:
                foreach (var v in tensor.Span<Half>())
                {
                    WriteFloat(json, (float)v);
                }

                break;
            case DataType.BF16:
                foreach (var bits in tensor.Span<ushort>())
                {
                    // BF16 is the top half of an FP32: widening is a shift, exact.
                    WriteFloat(json, BitConverter.Int32BitsToSingle(bits << 16));
                }

                break;
            case DataType.FP32:
                foreach (var v in tensor.Span<float>())
                {
                    WriteFloat(json, v);
                }

                break;
            case DataType.FP64:
                foreach (var v in tensor.Span<double>())
                {
                    WriteDouble(json, v);
                }

                break;
            case DataType.Bytes:
                foreach (var element in tensor.Strings)
                {
                    json.WriteStringValue(element.Span);
                }

                break;
            default:
                throw new InvalidOperationException($"output of datatype {tensor.DataType} cannot be written");
        }
    }

    private static void WriteFloat(Utf8JsonWriter json, float value)
    {
        if (float.IsFinite(value))
        {
            json.WriteNumberValue(value); // shortest text that parses back to the same float
        }
        else
        {
            WriteNonFinite(json, value);
        }
    }

    private static void WriteDouble(Utf8JsonWriter json, double value)
    {
        if (double.IsFinite(value))
        {
            json.WriteNumberValue(value);
        }
        else
        {
            WriteNonFinite(json, value);
        }
    }

    private static void WriteNonFinite(Utf8JsonWriter json, double value) =>
        json.WriteStringValue(double.IsNaN(value) ? "NaN"u8 : value > 0 ? "Infinity"u8 : "-Infinity"u8);

    private static void WriteParameters(Utf8JsonWriter json, IReadOnlyDictionary<string, object> parameters)
    {
        json.WriteStartObject();
        foreach (var (key, value) in parameters)
        {
            json.WritePropertyName(key);
            switch (value)
            {
                case bool b:
                    json.WriteBooleanValue(b);
                    break;
                case string s:
                    json.WriteStringValue(s);
                    break;
                case long l:
                    json.WriteNumberValue(l);
                    break;
                case int i:
                    json.WriteNumberValue(i);
                    break;
                case ulong u:
                    json.WriteNumberValue(u);
                    break;
                case double d:
                    WriteDouble(json, d);
                    break;
                case float f:
                    WriteFloat(json, f);
                    break;
                default:
                    // Parameters hold bool, integer, double or string; anything else is written as its text.
                    json.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                    break;
            }
        }

        json.WriteEndObject();
    }

    private static bool AllUtf8(IReadOnlyList<ReadOnlyMemory<byte>> strings)
    {
        foreach (var element in strings)
        {
            if (!Utf8.IsValid(element.Span))
            {
                return false;
            }
        }

        return true;
    }
}
