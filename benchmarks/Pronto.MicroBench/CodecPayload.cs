using System.Buffers;
using System.Text.Json;
using Pronto.Core.Inference;
using Pronto.Core.Protocol;
using Pronto.Core.Tensors;

namespace Pronto.MicroBench;

/// <summary>
/// One request in both encodings, with the tensor it carries: the JSON body, the binary-extension body (JSON
/// header, then the raw tensor) and the response an identity model sends back (the same tensor as its output).
/// </summary>
internal sealed class CodecPayload
{
    // torchvision's ImageNet normalization: a client's floats look like these, about 10 characters each in JSON.
    private static readonly float[] Mean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] Std = [0.229f, 0.224f, 0.225f];

    private CodecPayload(string model, byte[] json, NamedTensor input)
    {
        Model = model;
        Json = json;
        Input = input;
        Binary = BinaryBody(input, out var jsonLength);
        BinaryJsonLength = jsonLength;
        Response = new InferenceResponse { ModelName = model, ModelVersion = "1", Outputs = [input] };
        BinaryOutputs = new HashSet<string>(StringComparer.Ordinal) { input.Name };
    }

    public string Model { get; }

    public byte[] Json { get; }

    public NamedTensor Input { get; }

    public byte[] Binary { get; }

    /// <summary>Inference-Header-Content-Length of <see cref="Binary"/>.</summary>
    public int BinaryJsonLength { get; }

    public InferenceResponse Response { get; }

    /// <summary>The response's outputs to write as binary tensors: all of them.</summary>
    public IReadOnlySet<string> BinaryOutputs { get; }

    public static CodecPayload Create(PayloadKind kind) => kind switch
    {
        PayloadKind.Fraud => FromFile("fraud", "fraud-features.json"),
        PayloadKind.MiniLm => FromFile("minilm", "minilm.json"),
        _ => FromImage(),
    };

    /// <summary>A deterministic [1,3,224,224] FP32 image: seeded random pixels, normalized per channel.</summary>
    public static NamedTensor Image()
    {
        const int Side = 224;
        var random = new Random(42);
        var values = new float[3 * Side * Side];
        for (var i = 0; i < values.Length; i++)
        {
            var channel = i / (Side * Side);
            values[i] = ((random.Next(256) / 255f) - Mean[channel]) / Std[channel];
        }

        return new NamedTensor("Input247", Tensor.Create(values, 1, 3, Side, Side));
    }

    private static CodecPayload FromImage()
    {
        var image = Image();
        return new CodecPayload("resnet18", JsonBody(image), image);
    }

    // The tensor comes from Pronto's own reader, so the binary body carries exactly what the JSON body does.
    private static CodecPayload FromFile(string model, string file)
    {
        var json = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "bodies", file));
        var input = InferenceJson.ReadRequest(json, json.Length, model, null).Request.Inputs[0];
        return new CodecPayload(model, json, input);
    }

    private static byte[] JsonBody(NamedTensor image)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            WriteInputHeader(json, image);
            json.WriteStartArray("data");
            foreach (var value in image.Tensor.Span<float>())
            {
                json.WriteNumberValue(value);
            }

            json.WriteEndArray();
            WriteInputEnd(json);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] BinaryBody(NamedTensor input, out int jsonLength)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            WriteInputHeader(json, input);
            json.WriteStartObject("parameters");
            json.WriteNumber("binary_data_size", BinaryTensors.Size(input.Tensor));
            json.WriteEndObject();
            WriteInputEnd(json);
        }

        jsonLength = buffer.WrittenCount;
        BinaryTensors.Write(buffer, input.Tensor);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Opens the body and its one input: <c>{"inputs":[{"name":..,"shape":[..],"datatype":..</c>.</summary>
    private static void WriteInputHeader(Utf8JsonWriter json, NamedTensor input)
    {
        json.WriteStartObject();
        json.WriteStartArray("inputs");
        json.WriteStartObject();
        json.WriteString("name", input.Name);
        json.WriteStartArray("shape");
        foreach (var dim in input.Tensor.Shape)
        {
            json.WriteNumberValue(dim);
        }

        json.WriteEndArray();
        json.WriteString("datatype", input.Tensor.DataType.ToProtocolName());
    }

    private static void WriteInputEnd(Utf8JsonWriter json)
    {
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
