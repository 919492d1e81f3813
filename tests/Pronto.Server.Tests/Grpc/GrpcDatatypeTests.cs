using System.Runtime.InteropServices;
using System.Text;
using Google.Protobuf;
using Pronto.Core.Tensors;
using Pronto.Server.Tests.GrpcClient;
using Pronto.Testing;
using DataType = Pronto.Core.Tensors.DataType;

namespace Pronto.Server.Tests.Grpc;

/// <summary>A server over a temporary repository of identity models, one per protocol datatype.</summary>
public sealed class IdentityServerFixture : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-grpc-types-").FullName;

    public ProntoServer Server { get; private set; } = null!;

    public static string ModelName(DataType type) => "id_" + type.ToProtocolName().ToLowerInvariant();

    public async Task InitializeAsync()
    {
        foreach (var type in GrpcDatatypeTests.AllTypes)
        {
            TinyModels.WriteIdentity(_root, ModelName(type), type, ["batch", 3L]);
        }

        Server = await ServerFixture.StartAsync(options => options.ModelRepository = _root);
    }

    public async Task DisposeAsync()
    {
        await Server.StopAsync();
        await Server.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}

public sealed class GrpcDatatypeTests(IdentityServerFixture fixture) : IClassFixture<IdentityServerFixture>, IDisposable
{
    private readonly GrpcConnection _grpc = new(fixture.Server);

    public static TheoryData<DataType> AllTypes =>
        [DataType.Bool, DataType.UInt8, DataType.UInt16, DataType.UInt32, DataType.UInt64, DataType.Int8, DataType.Int16, DataType.Int32, DataType.Int64,
         DataType.FP16, DataType.BF16, DataType.FP32, DataType.FP64, DataType.Bytes];

    [Theory]
    [MemberData(nameof(AllTypes))]
    public async Task Every_datatype_round_trips_raw(DataType type)
    {
        var (_, raw) = Sample(type);
        var request = Request(type);
        request.RawInputContents.Add(raw);

        var response = await _grpc.Client.ModelInferAsync(request);

        AssertOutput(type, response, raw);
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public async Task Every_datatype_with_typed_contents_round_trips_to_the_same_raw_bytes(DataType type)
    {
        var (typed, raw) = Sample(type);
        var request = Request(type);
        if (typed is null)
        {
            // FP16 and BF16 have no typed field: the server says to send them raw.
            request.Inputs[0].Contents = new InferTensorContents { Fp32Contents = { 1, 2, 3, 4, 5, 6 } };
            var error = await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(async () => await _grpc.Client.ModelInferAsync(request));
            Assert.Equal(global::Grpc.Core.StatusCode.InvalidArgument, error.StatusCode);
            Assert.Equal($"input 'x': {type.ToProtocolName()} has no typed contents; send its little-endian bytes in raw_input_contents", error.Status.Detail);
            return;
        }

        request.Inputs[0].Contents = typed;

        var response = await _grpc.Client.ModelInferAsync(request);

        AssertOutput(type, response, raw);
    }

    [Fact]
    public async Task Typed_values_that_do_not_fit_the_datatype_are_invalid()
    {
        var request = Request(DataType.UInt8);
        request.Inputs[0].Contents = new InferTensorContents { UintContents = { 0, 1, 2, 3, 256, 5 } };
        var error = await Assert.ThrowsAsync<global::Grpc.Core.RpcException>(async () => await _grpc.Client.ModelInferAsync(request));
        Assert.Equal(global::Grpc.Core.StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("input 'x': element 4 (256) does not fit UINT8", error.Status.Detail);
    }

    private static ModelInferRequest Request(DataType type)
    {
        var request = new ModelInferRequest { ModelName = IdentityServerFixture.ModelName(type) };
        request.Inputs.Add(GrpcTensors.Input("x", type.ToProtocolName(), 2, 3));
        return request;
    }

    private static void AssertOutput(DataType type, ModelInferResponse response, ByteString raw)
    {
        var output = Assert.Single(response.Outputs);
        Assert.Equal(("y", type.ToProtocolName()), (output.Name, output.Datatype));
        Assert.Equal([2L, 3L], output.Shape);
        Assert.Equal(raw.ToByteArray(), Assert.Single(response.RawOutputContents).ToByteArray());
    }

    /// <summary>Six distinct values per type, extremes included: typed contents (null where the type has none) and the raw bytes they mean.</summary>
    private static (InferTensorContents? Typed, ByteString Raw) Sample(DataType type) => type switch
    {
        DataType.Bool => (new() { BoolContents = { true, false, true, true, false, false } }, Bytes(new[] { true, false, true, true, false, false })),
        DataType.UInt8 => (new() { UintContents = { 0, 1, 2, 127, 128, 255 } }, Bytes(new byte[] { 0, 1, 2, 127, 128, 255 })),
        DataType.UInt16 => (new() { UintContents = { 0, 1, 256, 32768, 65534, 65535 } }, Bytes(new ushort[] { 0, 1, 256, 32768, 65534, 65535 })),
        DataType.UInt32 => (new() { UintContents = { 0, 1, 65536, 2147483648, 4294967294, uint.MaxValue } }, Bytes(new uint[] { 0, 1, 65536, 2147483648, 4294967294, uint.MaxValue })),
        DataType.UInt64 => (new() { Uint64Contents = { 0, 1, 1UL << 32, long.MaxValue, ulong.MaxValue - 1, ulong.MaxValue } },
            Bytes(new ulong[] { 0, 1, 1UL << 32, long.MaxValue, ulong.MaxValue - 1, ulong.MaxValue })),
        DataType.Int8 => (new() { IntContents = { -128, -1, 0, 1, 100, 127 } }, Bytes(new sbyte[] { -128, -1, 0, 1, 100, 127 })),
        DataType.Int16 => (new() { IntContents = { -32768, -1, 0, 1, 1000, 32767 } }, Bytes(new short[] { -32768, -1, 0, 1, 1000, 32767 })),
        DataType.Int32 => (new() { IntContents = { int.MinValue, -1, 0, 1, 123456, int.MaxValue } }, Bytes(new[] { int.MinValue, -1, 0, 1, 123456, int.MaxValue })),
        DataType.Int64 => (new() { Int64Contents = { long.MinValue, -1, 0, 1, 1L << 40, long.MaxValue } }, Bytes(new[] { long.MinValue, -1, 0, 1, 1L << 40, long.MaxValue })),
        DataType.FP16 => (null, Bytes(new[] { (Half)0, (Half)1, (Half)(-2.5), Half.MaxValue, Half.Epsilon, Half.NegativeInfinity })),
        DataType.BF16 => (null, Bytes(new ushort[] { 0x0000, 0x3F80, 0xC020, 0x7F7F, 0x0001, 0xFF80 })),
        DataType.FP32 => (new() { Fp32Contents = { 0, 1.5f, -2.25f, float.MaxValue, float.Epsilon, float.NegativeInfinity } },
            Bytes(new[] { 0, 1.5f, -2.25f, float.MaxValue, float.Epsilon, float.NegativeInfinity })),
        DataType.FP64 => (new() { Fp64Contents = { 0, 1.5, -2.25, double.MaxValue, double.Epsilon, double.NegativeInfinity } },
            Bytes(new[] { 0, 1.5, -2.25, double.MaxValue, double.Epsilon, double.NegativeInfinity })),
        DataType.Bytes => StringsSample(),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    private static (InferTensorContents, ByteString) StringsSample()
    {
        byte[][] elements = [Encoding.UTF8.GetBytes("a"), [], Encoding.UTF8.GetBytes("héllo"), Encoding.UTF8.GetBytes("日本語"), [0x78, 0x00, 0x79], [0xFF, 0xFE]];
        var typed = new InferTensorContents();
        foreach (var element in elements)
        {
            typed.BytesContents.Add(ByteString.CopyFrom(element));
        }

        return (typed, GrpcTensors.RawStrings(elements));
    }

    private static ByteString Bytes<T>(T[] values) where T : unmanaged => ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));

    public void Dispose() => _grpc.Dispose();
}
