using System.Buffers;
using BenchmarkDotNet.Attributes;
using Pronto.Core.Protocol;

namespace Pronto.MicroBench;

/// <summary>
/// The REST codec, both encodings: <see cref="InferenceJson.ReadRequest(ReadOnlyMemory{byte}, int, string, string?, JsonLimits?)"/>
/// as RestEndpoints calls it (binary tensors are slices of the body), and <see cref="InferenceJson.WriteResponse"/> of an
/// identity model's response (the request's tensor as the output, binary when the request was) into a reused buffer,
/// so that the codec's own allocations show.
/// </summary>
[MemoryDiagnoser]
public class InferenceJsonBenchmarks
{
    private readonly ArrayBufferWriter<byte> _buffer = new();
    private CodecPayload _payload = null!;
    private byte[] _body = null!;
    private int _jsonLength;
    private IReadOnlySet<string>? _binaryOutputs;

    [ParamsAllValues]
    public BodyEncoding Encoding { get; set; }

    [ParamsAllValues]
    public PayloadKind Payload { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _payload = CodecPayload.Create(Payload);
        var binary = Encoding == BodyEncoding.Binary;
        _body = binary ? _payload.Binary : _payload.Json;
        _jsonLength = binary ? _payload.BinaryJsonLength : _payload.Json.Length;
        _binaryOutputs = binary ? _payload.BinaryOutputs : null;
    }

    [Benchmark]
    public JsonInferenceRequest ReadRequest() => InferenceJson.ReadRequest(_body, _jsonLength, _payload.Model, null);

    [Benchmark]
    public int WriteResponse()
    {
        _buffer.ResetWrittenCount();
        return InferenceJson.WriteResponse(_buffer, _payload.Response, _binaryOutputs);
    }
}
