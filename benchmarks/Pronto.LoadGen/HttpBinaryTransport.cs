using System.Buffers;
using System.Text.Json;
using Pronto.Core.Inference;
using Pronto.Core.Protocol;
using Pronto.Core.Tensors;

namespace Pronto.LoadGen;

/// <summary>
/// HTTP with the binary tensor extension: a JSON header whose inputs declare <c>binary_data_size</c>, then every
/// input's raw bytes in input order (fixed-size elements little-endian, BYTES as a 4-byte little-endian length
/// then the bytes, per element), with <c>Inference-Header-Content-Length</c> giving the header's length.
/// </summary>
public sealed class HttpBinaryTransport : HttpTransport
{
    /// <param name="serverUrl">The server's HTTP address, e.g. <c>http://127.0.0.1:8000</c>.</param>
    /// <param name="request">The request to send, encoded once here. Its id, parameters and requested outputs
    /// (with their <c>binary_data</c> and <c>classification</c>) travel as they are.</param>
    public HttpBinaryTransport(Uri serverUrl, InferenceRequest request)
        : this(serverUrl, request.ModelName, Encode(request))
    {
    }

    private HttpBinaryTransport(Uri serverUrl, string modelName, (byte[] Body, int JsonLength) encoded)
        : base(serverUrl, modelName, encoded.Body, encoded.JsonLength)
    {
    }

    public override string Name => "binary";

    /// <summary>The body of <paramref name="request"/> in the binary extension, and the length of its JSON header.</summary>
    public static (byte[] Body, int JsonLength) Encode(InferenceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (request.Id is not null)
            {
                json.WriteString("id"u8, request.Id);
            }

            if (request.Parameters.Count > 0)
            {
                json.WriteStartObject("parameters"u8);
                WriteParameters(json, request.Parameters);
                json.WriteEndObject();
            }

            json.WriteStartArray("inputs"u8);
            foreach (var input in request.Inputs)
            {
                WriteInput(json, input);
            }

            json.WriteEndArray();
            if (request.Outputs.Count > 0)
            {
                json.WriteStartArray("outputs"u8);
                foreach (var output in request.Outputs)
                {
                    WriteOutput(json, output);
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        var jsonLength = buffer.WrittenCount;
        foreach (var input in request.Inputs)
        {
            BinaryTensors.Write(buffer, input.Tensor);
        }

        return (buffer.WrittenSpan.ToArray(), jsonLength);
    }

    private static void WriteInput(Utf8JsonWriter json, NamedTensor input)
    {
        var tensor = input.Tensor;
        json.WriteStartObject();
        json.WriteString("name"u8, input.Name);
        json.WriteStartArray("shape"u8);
        foreach (var dim in tensor.Shape)
        {
            json.WriteNumberValue(dim);
        }

        json.WriteEndArray();
        json.WriteString("datatype"u8, tensor.DataType.ToProtocolName());
        json.WriteStartObject("parameters"u8);
        json.WriteNumber("binary_data_size"u8, BinaryTensors.Size(tensor));
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteOutput(Utf8JsonWriter json, RequestedOutput output)
    {
        json.WriteStartObject();
        json.WriteString("name"u8, output.Name);
        json.WriteStartObject("parameters"u8);
        json.WriteBoolean("binary_data"u8, output.Binary);
        if (output.Classification > 0)
        {
            json.WriteNumber("classification"u8, output.Classification);
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>Request parameters as the JSON reader leaves them: bool, long, double or string.</summary>
    private static void WriteParameters(Utf8JsonWriter json, IReadOnlyDictionary<string, object> parameters)
    {
        foreach (var (key, value) in parameters)
        {
            switch (value)
            {
                case bool b:
                    json.WriteBoolean(key, b);
                    break;
                case long l:
                    json.WriteNumber(key, l);
                    break;
                case double d:
                    json.WriteNumber(key, d);
                    break;
                default:
                    json.WriteString(key, value.ToString());
                    break;
            }
        }
    }
}
