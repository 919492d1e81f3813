using Pronto.Core.Errors;
using Pronto.Core.Tensors;

namespace Pronto.Core.Tests.Tensors;

public sealed class TensorTests
{
    [Fact]
    public void A_scalar_has_rank_0_and_one_element()
    {
        var t = Tensor.Scalar(7L);
        Assert.Equal(0, t.Rank);
        Assert.Equal(1, t.ElementCount);
        Assert.Equal(DataType.Int64, t.DataType);
        Assert.Equal([7L], t.ToArray<long>());
    }

    [Fact]
    public void A_zero_element_tensor_keeps_its_shape()
    {
        var t = Tensor.Create(Array.Empty<float>(), 0, 3);
        Assert.Equal([0L, 3L], t.Shape.ToArray());
        Assert.Equal(0, t.ElementCount);
        Assert.Equal(0, t.Data.Length);
    }

    [Fact]
    public void Create_views_the_array_without_copying()
    {
        var values = new float[] { 1, 2, 3, 4 };
        var t = Tensor.Create(values, 2, 2);
        values[3] = 42;
        Assert.Equal(42f, t.Span<float>()[3]);
    }

    [Fact]
    public void A_byte_count_that_does_not_match_the_shape_is_an_invalid_argument()
    {
        var error = Assert.Throws<ProntoException>(() => Tensor.FromBytes(DataType.FP32, new byte[20], 2, 3));
        Assert.Equal(ErrorCode.InvalidArgument, error.Code);
        Assert.Equal("a FP32 tensor of shape [2,3] needs 24 bytes, got 20", error.Message);
    }

    [Fact]
    public void Negative_dimensions_are_rejected()
    {
        var error = Assert.Throws<ProntoException>(() => Tensor.FromBytes(DataType.Int8, new byte[0], -1));
        Assert.Equal("shape [-1] has a negative dimension", error.Message);
    }

    [Fact]
    public void Bytes_elements_keep_non_ascii_text()
    {
        var t = Tensor.FromStrings(["naïve café", "東京", "🙂"]);
        Assert.Equal([3L], t.Shape.ToArray());
        Assert.Equal("東京", t.GetString(1));
        Assert.Equal(4, t.Strings[2].Length);
        Assert.Equal(12 + 6 + 4, t.ByteSize);
    }

    [Theory]
    [InlineData(DataType.Bool, "BOOL", "TYPE_BOOL", 1)]
    [InlineData(DataType.UInt64, "UINT64", "TYPE_UINT64", 8)]
    [InlineData(DataType.FP16, "FP16", "TYPE_FP16", 2)]
    [InlineData(DataType.BF16, "BF16", "TYPE_BF16", 2)]
    [InlineData(DataType.Bytes, "BYTES", "TYPE_STRING", 0)]
    public void Datatype_names_follow_the_protocol_and_triton(DataType type, string protocol, string config, int size)
    {
        Assert.Equal(protocol, type.ToProtocolName());
        Assert.Equal(config, type.ToConfigName());
        Assert.Equal(size, type.ElementSize());
        Assert.True(DataTypes.TryParseProtocolName(protocol, out var parsed));
        Assert.Equal(type, parsed);
        Assert.True(DataTypes.TryParseConfigName(config, out parsed));
        Assert.Equal(type, parsed);
    }

    [Fact]
    public void Reading_a_tensor_as_the_wrong_element_type_throws()
    {
        var t = Tensor.Create(new int[] { 1 }, 1);
        Assert.Throws<InvalidOperationException>(() => t.Span<long>().Length);
    }
}
