using System.Text;
using Pronto.Core.Inference;
using Pronto.Core.Tensors;
using Pronto.Testing;

namespace Pronto.Onnx.Tests;

/// <summary>Every protocol datatype survives core tensor -> OrtValue -> core tensor, and a real ORT run.</summary>
public sealed class TensorRoundTripTests : IDisposable
{
    private readonly string _repository = Directory.CreateTempSubdirectory("pronto-roundtrip-").FullName;

    public static TheoryData<DataType> AllTypes =>
        [DataType.Bool, DataType.UInt8, DataType.UInt16, DataType.UInt32, DataType.UInt64, DataType.Int8, DataType.Int16, DataType.Int32, DataType.Int64,
         DataType.FP16, DataType.BF16, DataType.FP32, DataType.FP64, DataType.Bytes];

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void Tensor_round_trips_through_an_OrtValue(DataType type)
    {
        foreach (var shape in new long[][] { [2, 3], [], [0, 3] })
        {
            var tensor = Sample(type, shape);
            using var value = OrtTensorConverter.ToOrtValue(tensor, out var pin);
            using (pin)
            {
                AssertSame(tensor, OrtTensorConverter.ToTensor(value));
            }
        }
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void Tensor_round_trips_through_a_real_identity_model(DataType type)
    {
        var backend = new OnnxBackend();
        var path = TinyModels.WriteIdentity(_repository, "id_" + type.ToProtocolName().ToLowerInvariant(), type, ["batch", 3L]);
        var config = backend.DeriveConfig("id", path);
        using var instance = backend.Load(config, path, CancellationToken.None);
        foreach (var shape in new long[][] { [2, 3], [0, 3] })
        {
            var input = Sample(type, shape);
            var output = instance.Run([new NamedTensor("x", input)], ["y"], CancellationToken.None);
            Assert.Equal("y", output[0].Name);
            AssertSame(input, output[0].Tensor);
        }
    }

    [Fact]
    public void A_rank_0_tensor_runs_through_a_scalar_model()
    {
        var backend = new OnnxBackend();
        var path = TinyModels.WriteIdentity(_repository, "scalar", DataType.FP64, []);
        var config = backend.DeriveConfig("scalar", path);
        Assert.Equal(0, config.MaxBatchSize);
        Assert.Empty(config.Inputs[0].Dims);
        using var instance = backend.Load(config, path, CancellationToken.None);
        var output = instance.Run([new NamedTensor("x", Tensor.Scalar(2.5))], ["y"], CancellationToken.None)[0].Tensor;
        Assert.Equal(0, output.Rank);
        Assert.Equal([2.5], output.ToArray<double>());
    }

    [Fact]
    public void Bytes_keep_non_ascii_content_exactly()
    {
        string[] texts = ["héllo wörld", "日本語のテキスト", "emoji 🚀🔥", ""];
        var tensor = Tensor.FromStrings(texts);
        using var value = OrtTensorConverter.ToOrtValue(tensor, out var pin);
        var back = OrtTensorConverter.ToTensor(value);
        Assert.Equal(texts, Enumerable.Range(0, texts.Length).Select(back.GetString));
    }

    public void Dispose() => Directory.Delete(_repository, recursive: true);

    /// <summary>Distinct, type-typical values, including extremes, for a shape.</summary>
    internal static Tensor Sample(DataType type, long[] shape)
    {
        var count = (int)Tensor.CountElements(shape);
        if (type == DataType.Bytes)
        {
            return Tensor.FromStrings([.. Enumerable.Range(0, count).Select(i => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes($"é{i}✓"))], shape);
        }

        var bytes = new byte[count * type.ElementSize()];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)((i * 37) + 11);
        }

        if (type == DataType.Bool)
        {
            for (var i = 0; i < bytes.Length; i++)
            {
                bytes[i] = (byte)(i % 2);
            }
        }

        if (type is DataType.FP16 or DataType.BF16 or DataType.FP32 or DataType.FP64)
        {
            // Arbitrary bytes may form NaNs, whose payload engines need not keep; use real numbers.
            for (var i = 0; i < count; i++)
            {
                var v = (i * 1.5) - 2.25;
                switch (type)
                {
                    case DataType.FP16: BitConverter.TryWriteBytes(bytes.AsSpan(i * 2), (Half)v); break;
                    case DataType.BF16: BitConverter.TryWriteBytes(bytes.AsSpan(i * 2), (ushort)(BitConverter.SingleToUInt32Bits((float)v) >> 16)); break;
                    case DataType.FP32: BitConverter.TryWriteBytes(bytes.AsSpan(i * 4), (float)v); break;
                    default: BitConverter.TryWriteBytes(bytes.AsSpan(i * 8), v); break;
                }
            }
        }

        return Tensor.FromBytes(type, bytes, shape);
    }

    internal static void AssertSame(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.DataType, actual.DataType);
        Assert.Equal(expected.Shape.ToArray(), actual.Shape.ToArray());
        if (expected.DataType == DataType.Bytes)
        {
            Assert.Equal(expected.Strings.Select(s => s.ToArray()), actual.Strings.Select(s => s.ToArray()));
        }
        else
        {
            Assert.Equal(expected.Data.ToArray(), actual.Data.ToArray());
        }
    }
}
